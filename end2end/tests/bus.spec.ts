// The bus as a person and the devtools hook see it: connect, round trips, reconnect after a kernel restart,
// and pending requests failing fast when the connection drops.
import { test, expect } from './support/fixtures';
import { busState, openDesktop, type BusError } from './support/aether';

test('desktop loads and the top bar shows the bus connected', async ({ page }) => {
  await openDesktop(page);
  await expect(busState(page)).toHaveAttribute('data-state', 'connected');
});

test('about window shows the kernel version, this client and a ping time', async ({ page }) => {
  await openDesktop(page);
  const version = await page.evaluate(() => window.aether.kernelVersion());
  expect(version, 'kernel.hello carries the kernel version').toMatch(/^\d+\.\d+\.\d+/);

  const about = page.getByTestId('about-version');
  if (!(await about.isVisible())) {
    // Not among the start apps: open it from the dock.
    await page.getByTestId('dock-about').click();
  }
  await expect(about).toHaveText(version!);
  const clientId = await page.evaluate(() => window.aether.clientId());
  await expect(page.getByTestId('about-client-id')).toHaveText(clientId!);
  await expect(page.getByTestId('about-ping')).toHaveText(/^\d+(\.\d+)? ms$/);
});

test('kernel.ping round trip through the real bus answers with uptime_ms', async ({ page }) => {
  await openDesktop(page);
  const reply = await page.evaluate(() => window.aether.request('kernel.ping', {}));
  expect(reply).toHaveProperty('uptime_ms');
  expect(typeof reply.uptime_ms).toBe('number');
  expect(reply.uptime_ms as number).toBeGreaterThanOrEqual(0);
});

test('an unknown topic is refused with an error payload instead of hanging', async ({ page }) => {
  await openDesktop(page);
  const err = await page.evaluate(() =>
    window.aether.request('kernel.no_such_thing', {}, { timeoutMs: 10_000 }).then(
      () => null,
      (e: BusError) => e,
    ),
  );
  expect(err, 'the request must reject').not.toBeNull();
  expect(err!.code).toBe('unknown_topic');
  expect(err!.error.length).toBeGreaterThan(0);
});

test('desktop reconnects by itself after a kernel restart and its subscriptions still deliver', async ({
  page,
  context,
  ownKernel,
}) => {
  await openDesktop(page, ownKernel.baseUrl);
  await page.evaluate(() => {
    window.__got = [];
    window.aether.subscribe('task.event', (env) => window.__got.push(env));
  });

  await ownKernel.kill();
  await expect(busState(page)).toHaveAttribute('data-state', 'reconnecting');

  await ownKernel.start();
  await expect(busState(page), 'reconnects without a reload').toHaveAttribute('data-state', 'connected', {
    timeout: 20_000,
  });

  const publisher = await context.newPage();
  await openDesktop(publisher, ownKernel.baseUrl);
  // The first page re-subscribes as it reconnects; publish until its callback has seen the event.
  await expect(async () => {
    await publisher.evaluate(() =>
      window.aether.publish('task.event', { run_id: 'r1', node: 'n', state: 'ok' }),
    );
    await expect
      .poll(() => page.evaluate(() => window.__got.length), { timeout: 1_000 })
      .toBeGreaterThan(0);
  }).toPass({ timeout: 10_000 });

  const got = await page.evaluate(() => window.__got);
  expect(got[0].topic).toBe('task.event');
  expect(got[0].payload).toMatchObject({ run_id: 'r1', node: 'n', state: 'ok' });
  const publisherId = await publisher.evaluate(() => window.aether.clientId());
  expect(got[0].from, 'the kernel stamps the sender').toBe(publisherId);
});

test('a request pending when the connection drops rejects with timeout at once', async ({ page, ownKernel }) => {
  await openDesktop(page, ownKernel.baseUrl);
  // Addressed to the page itself, so nobody answers it: it stays pending until the drop.
  await page.evaluate(() => {
    const started = performance.now();
    window.aether
      .request('vfs:read', { path: '/x' }, { timeoutMs: 30_000, to: window.aether.clientId() })
      .then(
        (ok) => (window.__settled = { ok, afterMs: performance.now() - started }),
        (err: BusError) => (window.__settled = { err, afterMs: performance.now() - started }),
      );
  });
  await page.waitForTimeout(500);
  expect(await page.evaluate(() => window.__settled), 'nobody answers the request').toBeUndefined();

  await ownKernel.kill();
  // Well before its own 30 s timeout: the drop, not the timer, must settle it.
  await expect.poll(() => page.evaluate(() => window.__settled), { timeout: 10_000 }).toBeDefined();
  const settled = await page.evaluate(() => window.__settled!);
  expect(settled.ok, 'the request must not succeed').toBeUndefined();
  expect(settled.err).toMatchObject({ code: 'timeout' });
  expect(typeof settled.err!.error).toBe('string');
});
