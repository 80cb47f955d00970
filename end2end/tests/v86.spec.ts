// The v86 backend end to end: `vm.spawn {backend: "v86"}` from the page boots the real Debian
// kernel and busybox guest in a Web Worker of the same tab, the serial line comes back as
// `vm.stdout`, `vm.stdin` types into it, `vm.kill` ends it with `vm.exit`. Software emulation on
// a 2-core machine is slow: these tests are marked slow and wait generously. The boot figure is
// printed, never asserted.
import { test, expect } from './support/fixtures';
import { openDesktop, type Envelope } from './support/aether';
import { boxOf, dockItem, dragTitleBar, windows } from './support/desktop';
import type { Page } from '@playwright/test';

/** The guest's shell prompt (PS1 in the guest's /init). */
const PROMPT = 'root@aether:';
/** How long a cold boot may take here before the test gives up. */
const BOOT_WAIT_MS = 240_000;

/** Collects every `vm.*` envelope addressed to the page into `window.__got`. */
async function collectVm(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.__got = [];
    window.aether.subscribe('vm.*', (env) => window.__got.push(env));
  });
}

/** The serial output of machine `pid` so far, in `seq` order. */
async function serial(page: Page, pid: number): Promise<string> {
  return page.evaluate((pid) => {
    return window.__got
      .filter((e: Envelope) => e.topic === 'vm.stdout' && e.payload?.pid === pid)
      .sort((a: Envelope, b: Envelope) => Number(a.payload!.seq) - Number(b.payload!.seq))
      .map((e: Envelope) => String(e.payload!.data))
      .join('');
  }, pid);
}

/** Spawns a v86 machine from the page; returns its pid. */
async function spawnV86(page: Page, payload: Record<string, unknown> = {}): Promise<number> {
  const ack = await page.evaluate(
    (payload) => window.aether.request('vm.spawn', { backend: 'v86', ...payload }, { timeoutMs: 30_000 }),
    payload,
  );
  expect(typeof ack.pid).toBe('number');
  return ack.pid as number;
}

/** Waits until the serial output of `pid` matches `pattern`; returns that output. */
async function waitForSerial(page: Page, pid: number, pattern: RegExp, timeout = BOOT_WAIT_MS): Promise<string> {
  let out = '';
  await expect
    .poll(async () => (out = await serial(page, pid)), { timeout, intervals: [250, 500, 1000] })
    .toMatch(pattern);
  return out;
}

test('vm.spawn {backend: v86} boots Linux to a shell, runs a command, and vm.kill ends it with vm.exit', async ({
  page,
}) => {
  test.slow();
  test.setTimeout(BOOT_WAIT_MS + 120_000);
  await openDesktop(page);
  await collectVm(page);
  // A window to drag while the guest boots.
  await dockItem(page, 'about').click();
  const about = windows(page, 'about');
  await expect(about).toHaveCount(1);

  const started = Date.now();
  const pid = await spawnV86(page);

  // The desktop stays responsive while the worker boots the guest: a window follows the mouse.
  const before = await boxOf(about);
  await dragTitleBar(page, about, 120, 60);
  const after = await boxOf(about);
  expect(Math.round(after.x - before.x)).toBe(120);
  expect(Math.round(after.y - before.y)).toBe(60);

  const boot = await waitForSerial(page, pid, new RegExp(PROMPT));
  console.log(`v86 cold boot to shell prompt: ${Date.now() - started} ms`);
  expect(boot).toContain('aether: guest ready');

  await page.evaluate((pid) => window.aether.request('vm.stdin', { pid, data: 'echo hello-$RANDOM\n' }), pid);
  const out = await waitForSerial(page, pid, /hello-\d+/, 60_000);
  expect(out).toMatch(/\r?\nhello-\d+\r?\n/);

  const list = await page.evaluate(() => window.aether.request('vm.list', {}));
  expect((list.programs as { pid: number }[]).map((p) => p.pid)).toContain(pid);

  await page.evaluate((pid) => window.aether.request('vm.kill', { pid }), pid);
  await expect
    .poll(() => page.evaluate((pid) => window.__got.filter((e) => e.topic === 'vm.exit' && e.payload?.pid === pid).length, pid))
    .toBe(1);
  const exit = await page.evaluate((pid) => window.__got.find((e) => e.topic === 'vm.exit' && e.payload?.pid === pid)!, pid);
  expect(exit.payload!.code).toBe(137);
  expect(Number(exit.payload!.duration_ms)).toBeGreaterThan(0);
  // Killed means gone: typing into it now is refused.
  const refused = await page.evaluate(
    (pid) => window.aether.request('vm.stdin', { pid, data: 'x' }).then(() => null, (e) => e.code),
    pid,
  );
  expect(refused).toBe('not_found');
});

test("the tab's files are in a new machine at /mnt/files (v86's 9p file system)", async ({ page }) => {
  test.slow();
  test.setTimeout(BOOT_WAIT_MS + 60_000);
  await openDesktop(page);
  await page.waitForFunction(() => (window.aether as any).vfs !== undefined);
  await page.evaluate(() => (window.aether as any).vfs.ready());
  const mark = `shared-${Date.now()}`;
  await page.evaluate(async (mark) => {
    const vfs = (window.aether as any).vfs;
    await vfs.mkdir('/project').catch(() => {});
    await vfs.write('/project/notes.txt', `${mark}\n`);
  }, mark);
  await collectVm(page);
  const pid = await spawnV86(page);
  await waitForSerial(page, pid, new RegExp(PROMPT));
  await page.evaluate((pid) => window.aether.request('vm.stdin', { pid, data: 'cat /mnt/files/project/notes.txt\n' }), pid);
  await waitForSerial(page, pid, new RegExp(`\r?\n${mark}\r?\n`), 60_000);
  await page.evaluate((pid) => window.aether.request('vm.kill', { pid }), pid);
});

test('without a desktop tab of its own, a client gets backend_unavailable for v86', async ({ page }) => {
  await openDesktop(page);
  // A second client on the same origin that registered no compute session (not the desktop).
  const answer = await page.evaluate(
    () =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
        ws.onmessage = (m) => {
          const env = JSON.parse(m.data);
          if (env.topic === 'kernel.hello') {
            ws.send(JSON.stringify({ topic: 'vm.spawn', payload: { backend: 'v86', _request_id: 'r-1' }, time: new Date().toISOString() }));
          } else if (env.payload?._request_id === 'r-1') {
            ws.close();
            resolve({ topic: env.topic, ...env.payload });
          }
        };
        ws.onerror = () => reject(new Error('websocket failed'));
      }),
  );
  expect(answer.topic).toBe('vm.error');
  expect(answer.code).toBe('backend_unavailable');
  expect(String(answer.error)).toMatch(/open the Aether desktop/);
});
