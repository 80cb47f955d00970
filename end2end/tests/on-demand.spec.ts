// Apps whose code loads on demand (desktop/src/apps/on_demand.rs): the first load fetches no
// app chunk, opening an app fetches its own, and a chunk that cannot load is said in its window
// (the page goes on, and the next window of that app tries again).
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { dockItem, windows } from './support/desktop';

test('the first load fetches no app chunk; opening the Console fetches its own', async ({ page }) => {
  const fetched: string[] = [];
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  await openDesktop(page);
  expect(fetched.filter((p) => /\/split_\w+-/.test(p))).toEqual([]);
  await dockItem(page, 'console').click();
  await expect(windows(page, 'console').first().getByTestId('console-run')).toBeVisible();
  expect(fetched.some((p) => /\/split_console-[0-9a-f]+\.wasm$/.test(p))).toBe(true);
  expect(fetched.filter((p) => /\/split_(agent|editor|files|tasks|terminal)-/.test(p))).toEqual([]);
});

test('a chunk that cannot load is said in its window, and the next window tries again', async ({ page }) => {
  // The context's route, not the page's: it also stops the service worker's fetch, which is
  // where a controlled page's request for the chunk goes.
  await page.context().route(/\/split_console-[0-9a-f]+\.wasm$/, (route) => route.abort());
  await openDesktop(page);
  await dockItem(page, 'console').click();
  const failed = windows(page, 'console').first();
  await expect(failed.getByTestId('app-load-error')).toContainText('reload the page');
  // The rest of the desktop is unharmed.
  await dockItem(page, 'notes').click();
  await expect(windows(page, 'notes').first()).toBeVisible();
  // Close the failed window; with the chunk reachable again, the next one loads.
  await page.context().unroute(/\/split_console-[0-9a-f]+\.wasm$/);
  await failed.getByRole('button', { name: 'Close' }).click();
  await expect(windows(page, 'console')).toHaveCount(0);
  await dockItem(page, 'console').click();
  await expect(windows(page, 'console').first().getByTestId('console-run')).toBeVisible();
});
