// Errors the kernel sends to this page on an error topic become toasts: shown with their code,
// announced, grouped when they repeat, dismissable, and gone by themselves after a while.
import { test, expect } from './support/fixtures';
import { openDesktop, type BusError } from './support/aether';

/** Sends a request the kernel refuses with `vm.error unknown_topic`; resolves with the error. */
async function sendUnknownVmTopic(page: import('@playwright/test').Page): Promise<BusError> {
  return page.evaluate(() =>
    window.aether.request('vm.frobnicate', {}).then(
      () => {
        throw new Error('vm.frobnicate must be refused');
      },
      (e: BusError) => e,
    ),
  );
}

test('an error sent back on vm.error shows a toast with its code and sentence', async ({ page }) => {
  await openDesktop(page);
  const region = page.getByTestId('toasts');
  await expect(region).toHaveAttribute('role', 'region');
  await expect(region).toHaveAttribute('aria-live', 'polite');

  const err = await sendUnknownVmTopic(page);
  expect(err.code).toBe('unknown_topic');

  const toast = region.locator('.toast[data-code="unknown_topic"]');
  await expect(toast).toHaveCount(1);
  await expect(toast).toHaveAttribute('role', 'alert');
  await expect(toast).toHaveAttribute('data-topic', 'vm.error');
  await expect(toast).toContainText('unknown_topic');
  await expect(toast).toContainText(err.error);
  await expect(toast.locator('.toast-count')).toHaveCount(0);
});

test('identical errors in a burst share one toast with a count, and × dismisses it', async ({ page }) => {
  await openDesktop(page);
  for (let i = 0; i < 3; i++) await sendUnknownVmTopic(page);
  // Another namespace is another toast.
  await page.evaluate(() => window.aether.request('kernel.no_such_thing', {}).catch(() => null));

  const toasts = page.getByTestId('toasts').locator('.toast');
  await expect(toasts).toHaveCount(2);
  const vm = toasts.and(page.locator('[data-topic="vm.error"]'));
  await expect(vm.locator('.toast-count')).toHaveText('×3');
  await expect(toasts.and(page.locator('[data-topic="kernel.error"]'))).toHaveAttribute('data-code', 'unknown_topic');

  await vm.locator('.toast-dismiss').click();
  await expect(toasts).toHaveCount(1);
});

test('a toast leaves by itself after a few seconds', async ({ page }) => {
  await openDesktop(page);
  await sendUnknownVmTopic(page);
  const toast = page.getByTestId('toasts').locator('.toast');
  await expect(toast).toHaveCount(1);
  // Toasts live about 6 s; allow generous slack, this asserts behaviour, not timing.
  await expect(toast).toHaveCount(0, { timeout: 15_000 });
});

test("a silent request's error shows no toast, the same request not silent does", async ({ page }) => {
  await openDesktop(page);
  const silent = await page.evaluate(() =>
    window.aether.request('vm.frobnicate', {}, { silent: true }).then(
      () => null,
      (e: BusError) => e,
    ),
  );
  expect(silent?.code).toBe('unknown_topic');
  const loud = await sendUnknownVmTopic(page);
  expect(loud.code).toBe('unknown_topic');
  const toast = page.getByTestId('toasts').locator('.toast');
  // One toast, for the loud one only: a silent error would have made it `×2`.
  await expect(toast).toHaveCount(1);
  await expect(toast.locator('.toast-count')).toHaveCount(0);
});
