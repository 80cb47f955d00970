// The VFS: each tab's files live in its IndexedDB under its own session id, are managed in the
// Files app, survive reloads, are private to the tab (only the tab itself and the kernel acting for
// it may use the relay to them), and move between browsers by export/import.
import type { Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { openDesktop, type BusError } from './support/aether';
import { dockItem, windows } from './support/desktop';
import { Kernel } from './support/kernel';

/** The page-side API of `window.aether.vfs` the specs use (see desktop/src/services/vfs/devtools.rs). */
interface VfsDevtools {
  sessionId(): string;
  ready(): boolean;
  write(path: string, content: string, encoding?: string): Promise<{ size: number; mtime: number }>;
  writeBytes(path: string, bytes: Uint8Array): Promise<{ size: number; mtime: number }>;
  read(path: string): Promise<{ content: string; encoding: string; size: number; mtime: number }>;
  readBytes(path: string): Promise<Uint8Array>;
  list(path: string): Promise<{ entries: { name: string; path: string; kind: string; size: number }[] }>;
  stat(path: string): Promise<{ path: string; kind: string; size: number }>;
  mkdir(path: string): Promise<unknown>;
  delete(path: string, recursive?: boolean): Promise<unknown>;
  rename(from: string, to: string): Promise<unknown>;
}

declare global {
  interface Window {
    __vfs(): VfsDevtools;
    /** `n` random bytes (`getRandomValues` gives at most 64 KiB per call). */
    __random(n: number): Uint8Array;
  }
}

/** Opens the desktop and waits until this tab's file store is open and registered. */
async function openWithVfs(page: Page, url = '/'): Promise<string> {
  await openDesktop(page, url);
  await page.waitForFunction(() => (window.aether as unknown as { vfs?: VfsDevtools }).vfs?.ready() === true);
  await page.evaluate(() => {
    window.__vfs = () => (window.aether as unknown as { vfs: VfsDevtools }).vfs;
    window.__random = (n: number) => {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      return bytes;
    };
  });
  const session = await page.evaluate(() => window.__vfs().sessionId());
  expect(session).toMatch(/^s-[0-9a-f]{16}$/);
  // Registered once the relay answers (a `vfs:stat` of the root through the kernel).
  await expect
    .poll(() =>
      page.evaluate((to) => window.aether.request('vfs:stat', { path: '/' }, { to, timeoutMs: 2000 }).then(
        () => 'ok',
        (e: BusError) => e.code,
      ), session),
    )
    .toBe('ok');
  return session;
}

/** Opens the Files window (from the dock) and returns it. */
async function openFiles(page: Page) {
  const win = windows(page, 'files');
  if ((await win.count()) === 0) await dockItem(page, 'files').click();
  await expect(win).toHaveCount(1);
  return win.first();
}

/** A list row of the Files app. */
const entry = (page: Page, path: string) => page.locator(`[data-testid=vfs-entry][data-path="${path}"]`);

/** Starts a kernel of the test's own with the `AETHER_*` variables in `vars` set. */
async function kernelWith(vars: Record<string, string>): Promise<Kernel> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await Kernel.start();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Starts a kernel of the test's own that accepts frames of `maxFrameBytes` (large files travel in one frame). */
async function kernelWithFrames(maxFrameBytes: number): Promise<Kernel> {
  return await kernelWith({ AETHER_LIMITS__MAX_FRAME_BYTES: String(maxFrameBytes) });
}

test('a new session starts with the welcome folder', async ({ page }) => {
  await openWithVfs(page);
  const welcome = await page.evaluate(() => window.__vfs().list('/welcome'));
  const names = welcome.entries.map((e) => e.name);
  expect(names).toEqual(expect.arrayContaining(['README.md', 'hello.wat']));
  const wat = await page.evaluate(() => window.__vfs().read('/welcome/hello.wat'));
  expect(wat.encoding).toBe('utf8');
  expect(wat.content).toContain('fd_write');
});

test('the Files app creates, writes, reads, renames, moves and deletes files', async ({ page }) => {
  await openWithVfs(page);
  const win = await openFiles(page);

  // Create: a new file starts in rename mode.
  await win.getByTestId('files-new-file').click();
  const rename = win.getByTestId('files-rename-input');
  await expect(rename).toBeFocused();
  await rename.fill('notes.txt');
  await rename.press('Enter');
  await expect(entry(page, '/notes.txt')).toHaveAttribute('data-kind', 'file');

  // Write: upload a file from the computer.
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), win.getByTestId('files-upload').click()]);
  await chooser.setFiles({ name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('Hello, files!\n') });
  await expect(entry(page, '/hello.txt')).toBeVisible();
  await expect(entry(page, '/hello.txt')).toContainText('14 B');

  // Read: open it in the viewer.
  await entry(page, '/hello.txt').dblclick();
  await expect(win.getByTestId('files-viewer-text')).toHaveText('Hello, files!\n');

  // Rename with F2.
  await entry(page, '/hello.txt').click();
  await page.keyboard.press('F2');
  await win.getByTestId('files-rename-input').fill('greeting.txt');
  await win.getByTestId('files-rename-input').press('Enter');
  await expect(entry(page, '/greeting.txt')).toBeVisible();
  await expect(entry(page, '/hello.txt')).toHaveCount(0);
  const read = await page.evaluate(() => window.__vfs().read('/greeting.txt'));
  expect(read).toMatchObject({ content: 'Hello, files!\n', encoding: 'utf8', size: 14 });

  // Move by drag and drop onto a new folder.
  await win.getByTestId('files-new-folder').click();
  await win.getByTestId('files-rename-input').fill('box');
  await win.getByTestId('files-rename-input').press('Enter');
  await expect(entry(page, '/box')).toHaveAttribute('data-kind', 'dir');
  await entry(page, '/notes.txt').dragTo(entry(page, '/box'));
  await expect(entry(page, '/notes.txt')).toHaveCount(0);
  expect(await page.evaluate(() => window.__vfs().stat('/box/notes.txt'))).toMatchObject({ kind: 'file', size: 0 });

  // Delete, after confirming.
  await entry(page, '/greeting.txt').click();
  await page.keyboard.press('Delete');
  await expect(win.getByTestId('confirm-delete')).toBeVisible();
  await win.getByTestId('confirm-delete-yes').click();
  await expect(entry(page, '/greeting.txt')).toHaveCount(0);
  const gone = await page.evaluate(() => window.__vfs().stat('/greeting.txt').catch((e: BusError) => e.code));
  expect(gone).toBe('not_found');
});

test('files survive a reload of the tab', async ({ page }) => {
  const session = await openWithVfs(page);
  await page.evaluate(() => window.__vfs().write('/keep/me.txt', 'still here'));
  await page.reload();
  expect(await openWithVfs(page)).toBe(session);
  expect((await page.evaluate(() => window.__vfs().read('/keep/me.txt'))).content).toBe('still here');
  await openFiles(page);
  await expect(entry(page, '/keep')).toBeVisible();
});

test('two tabs have separate sessions and one cannot read the other\'s files through the relay', async ({ browser }) => {
  // Both tabs present the same token: one principal, still two private file sessions.
  const kernel = await kernelWith({ AETHER_CLIENT_TOKEN: 'same-token-for-both' });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const a = await openWithVfs(page, `${kernel.baseUrl}/?token=same-token-for-both`);
    const pageB = await context.newPage();
    const b = await openWithVfs(pageB, `${kernel.baseUrl}/?token=same-token-for-both`);
    expect(a).not.toBe(b);
    await page.evaluate(() => window.__vfs().write('/only-a.txt', 'a'));
    await pageB.evaluate(() => window.__vfs().write('/only-b.txt', 'b'));
    const names = async (p: Page) => (await p.evaluate(() => window.__vfs().list('/'))).entries.map((e) => e.name);
    expect(await names(page)).toContain('only-a.txt');
    expect(await names(page)).not.toContain('only-b.txt');
    expect(await names(pageB)).toContain('only-b.txt');
    expect(await names(pageB)).not.toContain('only-a.txt');

    // Every file request from tab B to tab A's session is refused, whatever the operation.
    const requests: [string, Record<string, unknown>][] = [
      ['vfs:read', { path: '/only-a.txt' }],
      ['vfs:list', { path: '/' }],
      ['vfs:stat', { path: '/only-a.txt' }],
      ['vfs:write', { path: '/only-a.txt', content: 'overwritten by B' }],
      ['vfs:delete', { path: '/only-a.txt' }],
      ['vfs:rename', { from: '/only-a.txt', to: '/stolen.txt' }],
      ['vfs:mkdir', { path: '/from-b' }],
    ];
    for (const [topic, payload] of requests) {
      const err = (await pageB.evaluate(
        ([t, p, to]) => window.aether.request(t, p, { to, timeoutMs: 5000 }).catch((e: BusError) => e),
        [topic, payload, a] as const,
      )) as BusError;
      expect(err.code, topic).toBe('permission_denied');
      expect(err.error).toContain('another tab');
    }
    // The kernel will not read tab A's files for tab B either.
    const spawn = await pageB.evaluate(async (session) => {
      window.__got = [];
      window.aether.subscribe('vm.*', (e) => window.__got.push(e));
      const ack = await window.aether.request('vm.spawn', { module: { path: '/only-a.txt', session } });
      return ack.pid;
    }, a);
    expect(typeof spawn).toBe('number');
    await expect.poll(() => pageB.evaluate(() => window.__got.find((e) => e.topic === 'vm.error')?.payload?.code)).toBe(
      'permission_denied',
    );
    // Tab A's files are untouched; tab A itself still reaches them through the relay.
    expect(await names(page)).toEqual(expect.arrayContaining(['only-a.txt']));
    expect(await names(page)).not.toContain('stolen.txt');
    const own = await page.evaluate((to) => window.aether.request('vfs:read', { path: '/only-a.txt' }, { to }), a);
    expect(own).toMatchObject({ content: 'a', encoding: 'utf8', size: 1 });
  } finally {
    await context.close();
    await kernel.kill();
  }
});

test('a kernel service reads the tab\'s file through the relay, and the tab itself may use the relay', async ({ page }) => {
  const a = await openWithVfs(page);
  await page.evaluate(() => window.__vfs().write('/prog/hi.wat', `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "read through the relay\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 8))
    (i32.store (i32.const 4) (i32.const 23))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 40)))))`));
  // The kernel's module reader asks this tab's session for the file on the tab's behalf.
  await page.evaluate(async () => {
    window.__got = [];
    window.aether.subscribe('vm.*', (e) => window.__got.push(e));
    await window.aether.request('vm.spawn', { module: { path: '/prog/hi.wat' } });
  });
  await expect.poll(() => page.evaluate(() => window.__got.filter((e) => e.topic === 'vm.exit').length)).toBe(1);
  const stdout = await page.evaluate(() =>
    window.__got.filter((e) => e.topic === 'vm.stdout').map((e) => e.payload?.data).join(''),
  );
  expect(stdout).toBe('read through the relay\n');

  // The tab addressing its own session through the kernel: replies come back correlated.
  const reply = await page.evaluate((to) => window.aether.request('vfs:read', { path: '/prog/hi.wat' }, { to }), a);
  expect(reply).toMatchObject({ encoding: 'utf8' });
  expect(typeof reply._request_id).toBe('string');
  await page.evaluate((to) => window.aether.request('vfs:write', { path: '/prog/note.txt', content: 'hi' }, { to }), a);
  expect((await page.evaluate(() => window.__vfs().read('/prog/note.txt'))).content).toBe('hi');
  const listing = await page.evaluate((to) => window.aether.request('vfs:list', { path: '/prog' }, { to }), a);
  expect((listing.entries as { path: string }[]).map((e) => e.path)).toEqual(['/prog/hi.wat', '/prog/note.txt']);
  const missing = await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: '/nope' }, { to }).catch((e: BusError) => e),
    a,
  );
  expect(missing).toMatchObject({ code: 'not_found' });
  const notEmpty = await page.evaluate(
    (to) => window.aether.request('vfs:delete', { path: '/prog' }, { to }).catch((e: BusError) => e),
    a,
  );
  expect(notEmpty).toMatchObject({ code: 'conflict' });
});

test('bad paths are refused with bad_request, through the relay and locally', async ({ page }) => {
  const a = await openWithVfs(page);
  const err = (await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: '/../etc/passwd' }, { to }).catch((e: BusError) => e),
    a,
  )) as BusError;
  expect(err.code).toBe('bad_request');
  expect(err.error).toContain('leave the root');
  if ((await page.getByTestId('toasts').count()) > 0) {
    await expect(page.locator('[data-testid=toasts] .toast[data-code=bad_request]')).toHaveCount(1);
  }
  const local = await page.evaluate(() => window.__vfs().write('/a\u0000b', 'x').catch((e: BusError) => e.code));
  expect(local).toBe('bad_request');
});

test('a file too large for one bus frame is refused with payload_too_large, not dropped', async ({ page }) => {
  const a = await openWithVfs(page);
  // 900 KB of bytes is 1.2 MB of base64: over the default 1 MiB frame.
  await page.evaluate(() => window.__vfs().writeBytes('/big.bin', window.__random(900_000)));
  const err = await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: '/big.bin' }, { to, timeoutMs: 5000 }).catch((e: BusError) => e),
    a,
  );
  expect(err).toMatchObject({ code: 'payload_too_large' });
});

test('a 10 MB binary file round-trips byte for byte through the relay', async ({ browser }) => {
  test.setTimeout(120_000);
  const kernel = await kernelWithFrames(32 * 1024 * 1024);
  const context = await browser.newContext();
  try {
    const pageA = await context.newPage();
    const a = await openWithVfs(pageA, `${kernel.baseUrl}/`);
    const result = await pageA.evaluate(async (to) => {
      const size = 10 * 1024 * 1024;
      const bytes = window.__random(size);
      let binary = '';
      for (let i = 0; i < size; i += 32768) binary += String.fromCharCode(...bytes.subarray(i, i + 32768));
      const hex = async (b: Uint8Array) =>
        Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) => x.toString(16).padStart(2, '0')).join('');
      const sent = await hex(bytes);
      const ack = await window.aether.request('vfs:write', { path: '/big/blob.bin', content: btoa(binary), encoding: 'base64' }, { to, timeoutMs: 60000 });
      const back = await window.aether.request('vfs:read', { path: '/big/blob.bin' }, { to, timeoutMs: 60000 });
      const decoded = atob(back.content as string);
      const out = new Uint8Array(decoded.length);
      for (let i = 0; i < decoded.length; i++) out[i] = decoded.charCodeAt(i);
      return { ackSize: ack.size, encoding: back.encoding, size: back.size, sent, received: await hex(out) };
    }, a);
    expect(result.ackSize).toBe(10 * 1024 * 1024);
    expect(result.size).toBe(10 * 1024 * 1024);
    expect(result.encoding).toBe('base64');
    expect(result.received).toBe(result.sent);
    const stored = await pageA.evaluate(async () => {
      const b = await window.__vfs().readBytes('/big/blob.bin');
      return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) => x.toString(16).padStart(2, '0')).join('');
    });
    expect(stored).toBe(result.sent);
  } finally {
    await context.close();
    await kernel.kill();
  }
});

test('export then import restores the tree exactly', async ({ page }) => {
  await openWithVfs(page);
  await page.evaluate(async () => {
    const vfs = window.__vfs();
    for (const e of (await vfs.list('/')).entries) await vfs.delete(e.path, true);
    await vfs.write('/src/main.wat', '(module)');
    await vfs.writeBytes('/src/data/blob.bin', Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    await vfs.mkdir('/empty/nested');
    await vfs.write('/ünï cödé.txt', 'ünï');
  });
  const tree = () =>
    page.evaluate(async () => {
      const vfs = window.__vfs();
      const out: string[] = [];
      const walk = async (dir: string) => {
        for (const e of (await vfs.list(dir)).entries) {
          if (e.kind === 'dir') {
            out.push(`${e.path}/`);
            await walk(e.path);
          } else {
            const b = await vfs.readBytes(e.path);
            const sum = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) => x.toString(16).padStart(2, '0')).join('');
            out.push(`${e.path} ${e.size} ${sum}`);
          }
        }
      };
      await walk('/');
      return out;
    });
  const before = await tree();
  expect(before).toHaveLength(7);

  const win = await openFiles(page);
  const [download] = await Promise.all([page.waitForEvent('download'), win.getByTestId('files-export').click()]);
  expect(download.suggestedFilename()).toBe('aether-files.zip');
  const zipPath = await download.path();

  await page.evaluate(async () => {
    const vfs = window.__vfs();
    for (const e of (await vfs.list('/')).entries) await vfs.delete(e.path, true);
  });
  expect(await tree()).toEqual([]);

  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), win.getByTestId('files-import').click()]);
  await chooser.setFiles(zipPath);
  await expect(win.getByTestId('files-status')).toContainText('Imported 7 entries');
  expect(await tree()).toEqual(before);
});

test('figures: relayed vfs:read round trip against the direct IndexedDB read', async ({ browser }) => {
  test.setTimeout(120_000);
  const kernel = await kernelWithFrames(8 * 1024 * 1024);
  const context = await browser.newContext();
  try {
    const pageA = await context.newPage();
    const a = await openWithVfs(pageA, `${kernel.baseUrl}/`);
    const RUNS = 20;
    for (const [label, size] of [['1 KB', 1024], ['1 MB', 1024 * 1024]] as const) {
      const path = `/bench/${size}.bin`;
      await pageA.evaluate(
        ([p, n]) => window.__vfs().writeBytes(p, window.__random(n)),
        [path, size] as const,
      );
      const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      const direct = await pageA.evaluate(
        async ([p, runs]) => {
          const times: number[] = [];
          for (let i = 0; i < runs; i++) {
            const t = performance.now();
            await window.__vfs().readBytes(p);
            times.push(performance.now() - t);
          }
          return times;
        },
        [path, RUNS] as const,
      );
      const directEncoded = await pageA.evaluate(
        async ([p, runs]) => {
          const times: number[] = [];
          for (let i = 0; i < runs; i++) {
            const t = performance.now();
            await window.__vfs().read(p);
            times.push(performance.now() - t);
          }
          return times;
        },
        [path, RUNS] as const,
      );
      const relayed = await pageA.evaluate(
        async ([to, p, runs]) => {
          const times: number[] = [];
          for (let i = 0; i < runs; i++) {
            const t = performance.now();
            await window.aether.request('vfs:read', { path: p }, { to, timeoutMs: 30000 });
            times.push(performance.now() - t);
          }
          return times;
        },
        [a, path, RUNS] as const,
      );
      const [d, de, r] = [median(direct), median(directEncoded), median(relayed)];
      console.log(
        `vfs:read ${label}: relayed median ${r.toFixed(2)} ms; direct IndexedDB read ${d.toFixed(2)} ms ` +
          `(with base64 encoding ${de.toFixed(2)} ms); relayed/direct ${(r / d).toFixed(2)}x over ${RUNS} runs`,
      );
      expect(relayed).toHaveLength(RUNS);
    }
  } finally {
    await context.close();
    await kernel.kill();
  }
});
