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
  ready(): Promise<boolean>;
  write(path: string, content: string, encoding?: string): Promise<{ size: number; mtime: number }>;
  writeBytes(path: string, bytes: Uint8Array): Promise<{ size: number; mtime: number }>;
  read(path: string): Promise<{ content: string; encoding: string; size: number; mtime: number }>;
  readBytes(path: string): Promise<Uint8Array>;
  relayRead(session: string, path: string): Promise<Uint8Array>;
  relayWrite(session: string, path: string, bytes: Uint8Array): Promise<{ size: number; mtime: number; committed: boolean }>;
  uploadsInFlight(): number;
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
    /** The SHA-256 of `bytes`, in hex. */
    __sha256(bytes: Uint8Array): Promise<string>;
  }
}

/** Opens the desktop and waits until this tab's file store is open and registered. */
async function openWithVfs(page: Page, url = '/'): Promise<string> {
  await openDesktop(page, url);
  await page.waitForFunction(() => (window.aether as unknown as { vfs?: VfsDevtools }).vfs !== undefined);
  expect(await page.evaluate(() => (window.aether as unknown as { vfs: VfsDevtools }).vfs.ready())).toBe(true);
  await page.evaluate(() => {
    window.__vfs = () => (window.aether as unknown as { vfs: VfsDevtools }).vfs;
    window.__random = (n: number) => {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      return bytes;
    };
    window.__sha256 = async (b: Uint8Array) =>
      Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) => x.toString(16).padStart(2, '0')).join('');
  });
  const session = await page.evaluate(() => window.__vfs().sessionId());
  expect(session).toMatch(/^s-[0-9a-f]{16}$/);
  // Once `ready()` resolves, the relay reaches the session at once (no `session_not_found`).
  const stat = await page.evaluate(
    (to) =>
      window.aether.request('vfs:stat', { path: '/' }, { to, timeoutMs: 2000 }).then(
        () => 'ok',
        (e: BusError) => e.code,
      ),
    session,
  );
  expect(stat).toBe('ok');
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

test('vfs:search finds the lines of text files that contain a text, in path order, through the relay', async ({ page }) => {
  const a = await openWithVfs(page);
  await page.evaluate(async () => {
    const vfs = window.__vfs();
    await vfs.write('/search/b.txt', 'nothing here\nthe needle is here\r\nNEEDLE\n');
    await vfs.write('/search/a.md', `needle first\n${'x'.repeat(300)}needle${'y'.repeat(300)}`);
    // Not UTF-8: a binary file is skipped even though its bytes spell the query.
    await vfs.writeBytes('/search/c.bin', new Uint8Array([0xff, 0x6e, 0x65, 0x65, 0x64, 0x6c, 0x65]));
  });
  type Found = { matches: { path: string; line: number; column: number; text: string }[]; truncated: boolean };
  const search = (payload: Record<string, unknown>) =>
    page.evaluate(
      ([to, p]) => window.aether.request('vfs:search', p, { to }).catch((e: BusError) => e),
      [a, payload] as const,
    ) as Promise<Found & BusError>;
  const found = await search({ query: 'needle', path: '/search' });
  expect(found.truncated).toBe(false);
  expect(found.matches.map((m) => [m.path, m.line, m.column])).toEqual([
    ['/search/a.md', 1, 1],
    ['/search/a.md', 2, 301],
    ['/search/b.txt', 2, 5],
  ]);
  expect(found.matches[2].text).toBe('the needle is here');
  // A long line is cut to 200 characters around the match.
  expect(found.matches[1].text).toHaveLength(200);
  expect(found.matches[1].text).toContain('needle');
  // At most `max_results`, saying there were more.
  const capped = await search({ query: 'needle', path: '/search', max_results: 1 });
  expect(capped.matches).toHaveLength(1);
  expect(capped.truncated).toBe(true);
  // The whole tree by default: the welcome program holds its greeting.
  const everywhere = await search({ query: 'Hello from Aether!' });
  expect(everywhere.matches.map((m) => m.path)).toContain('/welcome/hello.wat');
  expect((await search({ query: '' })).code).toBe('bad_request');
  expect((await search({ query: 'x', path: '/nope' })).code).toBe('not_found');
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

test('a file larger than one bus frame is read whole only in chunks', async ({ page }) => {
  const a = await openWithVfs(page);
  // 900 KB of bytes is 1.2 MB of base64: over the default 1 MiB frame.
  const sent = await page.evaluate(async () => {
    const bytes = window.__random(900_000);
    await window.__vfs().writeBytes('/big.bin', bytes);
    return window.__sha256(bytes);
  });
  // The whole-file form cannot answer in one frame: refused, not dropped, and says what to do.
  const err = (await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: '/big.bin' }, { to, timeoutMs: 5000 }).catch((e: BusError) => e),
    a,
  )) as BusError;
  expect(err).toMatchObject({ code: 'payload_too_large' });
  expect(err.error).toContain('offset');
  // One chunk: at most what fits, with where it starts and whether it ends the file.
  const chunk = await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: '/big.bin', offset: 100, length: 10 }, { to }),
    a,
  );
  expect(chunk).toMatchObject({ offset: 100, size: 900_000, eof: false, encoding: 'base64' });
  expect(atob(chunk.content as string)).toHaveLength(10);
  const past = await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: '/big.bin', offset: 900_001 }, { to }).catch((e: BusError) => e.code),
    a,
  );
  expect(past).toBe('bad_request');
  // The chunked client reads it all.
  const received = await page.evaluate(async (to) => window.__sha256(await window.__vfs().relayRead(to, '/big.bin')), a);
  expect(received).toBe(sent);
});

test('files of every size round-trip through the relay: empty, one byte, small, one chunk, one over', async ({ page }) => {
  test.setTimeout(120_000);
  const a = await openWithVfs(page);
  // Raw bytes of one chunk under the shared kernel's default 1 MiB frame cap
  // (shared/src/vfs/chunk.rs `chunk_len`).
  const maxFrame = 1024 * 1024;
  const chunk = Math.floor((maxFrame - 4096) / 4) * 3;
  const sizes = [0, 1, 2, 1000, 200_000, chunk - 1, chunk, chunk + 1, 2 * chunk, 2 * chunk + 1, 3_000_000];
  for (const n of sizes) {
    const result = await page.evaluate(
      async ([to, n]) => {
        const bytes = window.__random(n);
        const path = `/sizes/${n}.bin`;
        const ack = await window.__vfs().relayWrite(to, path, bytes);
        const back = await window.__vfs().relayRead(to, path);
        const stored = await window.__vfs().readBytes(path);
        return {
          ack,
          sent: await window.__sha256(bytes),
          received: await window.__sha256(back),
          stored: await window.__sha256(stored),
        };
      },
      [a, n] as const,
    );
    expect(result.ack, `${n} bytes`).toMatchObject({ size: n, committed: true });
    expect(result.received, `${n} bytes`).toBe(result.sent);
    expect(result.stored, `${n} bytes`).toBe(result.sent);
  }
  // Text that is valid UTF-8 (sent as utf8, not base64) round-trips too, at the one-message edge.
  const text = await page.evaluate(async (to) => {
    const body = 'é'.repeat(200_000);
    const bytes = new TextEncoder().encode(body);
    await window.__vfs().relayWrite(to, '/sizes/text.txt', bytes);
    return new TextDecoder().decode(await window.__vfs().relayRead(to, '/sizes/text.txt')) === body;
  }, a);
  expect(text).toBe(true);
});

test('raw bytes round-trip through the relay in binary frames at every edge: empty, one byte, one frame, one over', async ({ page }) => {
  test.setTimeout(180_000);
  const a = await openWithVfs(page);
  // The desktop asks for the `aether.binary` subprotocol; the kernel agrees in its hello.
  expect(await page.evaluate(() => window.__vfs().binaryFrames())).toBe(true);
  // Raw bytes of one binary frame under the default 1 MiB frame cap: the frame less room for the
  // envelope, no base64 third (shared/src/vfs/chunk.rs `binary_chunk_len`); the largest write in
  // one message. The relay client moves larger files in chunks of 256 KiB
  // (desktop/src/services/vfs/remote.rs `BINARY_CHUNK_BYTES`).
  const chunk = 1024 * 1024 - 4096;
  const piece = 256 * 1024;
  const sizes = [0, 1, 2, piece - 1, piece, piece + 1, chunk - 1, chunk, chunk + 1, 2 * chunk + 1, 10 * 1024 * 1024];
  for (const n of sizes) {
    const result = await page.evaluate(
      async ([to, n]) => {
        const bytes = window.__random(n);
        // Text-looking bytes would travel the same way: make the edges binary for sure.
        if (n > 0) bytes[0] = 0;
        const path = `/binary/${n}.bin`;
        const ack = await window.__vfs().relayWrite(to, path, bytes);
        const back = await window.__vfs().relayRead(to, path);
        const stored = await window.__vfs().readBytes(path);
        return {
          ack,
          length: back.length,
          sent: await window.__sha256(bytes),
          received: await window.__sha256(back),
          stored: await window.__sha256(stored),
        };
      },
      [a, n] as const,
    );
    expect(result.ack, `${n} bytes`).toMatchObject({ size: n, committed: true });
    expect(result.length, `${n} bytes`).toBe(n);
    expect(result.received, `${n} bytes`).toBe(result.sent);
    expect(result.stored, `${n} bytes`).toBe(result.sent);
  }
  expect(await page.evaluate(() => window.__vfs().uploadsInFlight())).toBe(0);
  // One frame holds a whole binary file of `chunk` bytes: a whole-file read that asks for bytes
  // is answered (the JSON hook gets it in the text form), one byte more is refused.
  const whole = await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: `/binary/${1024 * 1024 - 4096}.bin`, encoding: 'binary' }, { to }),
    a,
  );
  expect(whole).toMatchObject({ encoding: 'base64', size: chunk, offset: 0, eof: true });
  expect(atob(whole.content as string)).toHaveLength(chunk);
  const over = (await page.evaluate(
    (to) =>
      window.aether
        .request('vfs:read', { path: `/binary/${1024 * 1024 - 4096 + 1}.bin`, encoding: 'binary' }, { to })
        .catch((e: BusError) => e),
    a,
  )) as BusError;
  expect(over).toMatchObject({ code: 'payload_too_large' });
  // Without `encoding` a read is answered in the text form as ever: base64 past 3/4 of a frame is too large.
  const text = (await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: `/binary/${1024 * 1024 - 4096}.bin` }, { to }).catch((e: BusError) => e),
    a,
  )) as BusError;
  expect(text).toMatchObject({ code: 'payload_too_large' });
  const small = await page.evaluate((to) => window.aether.request('vfs:read', { path: '/binary/1.bin' }, { to }), a);
  expect(small).toMatchObject({ encoding: 'base64', size: 1 });
});

test('a 10 MB binary file round-trips byte for byte through the relay on a default kernel', async ({ page }) => {
  test.setTimeout(120_000);
  const a = await openWithVfs(page);
  const result = await page.evaluate(async (to) => {
    const bytes = window.__random(10 * 1024 * 1024);
    const sent = await window.__sha256(bytes);
    const ack = await window.__vfs().relayWrite(to, '/big/blob.bin', bytes);
    const back = await window.__vfs().relayRead(to, '/big/blob.bin');
    const stored = await window.__vfs().readBytes('/big/blob.bin');
    return {
      ack,
      size: back.length,
      sent,
      received: await window.__sha256(back),
      stored: await window.__sha256(stored),
      inFlight: window.__vfs().uploadsInFlight(),
    };
  }, a);
  expect(result.ack).toMatchObject({ size: 10 * 1024 * 1024, committed: true });
  expect(result.size).toBe(10 * 1024 * 1024);
  expect(result.received).toBe(result.sent);
  expect(result.stored).toBe(result.sent);
  expect(result.inFlight).toBe(0);
  // The shared kernel runs with the default frame cap: the file never fit in one message.
  const whole = (await page.evaluate(
    (to) => window.aether.request('vfs:read', { path: '/big/blob.bin' }, { to }).catch((e: BusError) => e),
    a,
  )) as BusError;
  expect(whole).toMatchObject({ code: 'payload_too_large', details: { limit: 'max_frame_bytes', value: 1048576 } });
});

test('an interrupted chunked upload leaves the old file whole; the last chunk replaces it at once', async ({ page }) => {
  const a = await openWithVfs(page);
  await page.evaluate(() => window.__vfs().write('/doc.txt', 'old and whole'));
  const write = (payload: Record<string, unknown>) =>
    page.evaluate(
      ([to, p]) => window.aether.request('vfs:write', p, { to }).catch((e: BusError) => e),
      [a, payload] as const,
    );
  // A first chunk is staged, not written.
  expect(await write({ path: '/doc.txt', content: 'new ', upload: 'u-1', offset: 0, last: false })).toMatchObject({
    size: 4,
    committed: false,
  });
  expect((await page.evaluate(() => window.__vfs().read('/doc.txt'))).content).toBe('old and whole');
  expect(await page.evaluate(() => window.__vfs().uploadsInFlight())).toBe(1);
  // A chunk out of order drops the upload; the file is still the old one.
  expect(await write({ path: '/doc.txt', content: 'x', upload: 'u-1', offset: 9, last: true })).toMatchObject({
    code: 'conflict',
    details: { expected_offset: 4 },
  });
  expect(await page.evaluate(() => window.__vfs().uploadsInFlight())).toBe(0);
  expect(await write({ path: '/doc.txt', content: 'x', upload: 'u-1', offset: 4, last: true })).toMatchObject({
    code: 'not_found',
  });
  expect((await page.evaluate(() => window.__vfs().read('/doc.txt'))).content).toBe('old and whole');
  // A chunked write without an upload id is a bad request.
  expect(await write({ path: '/doc.txt', content: 'x', last: false })).toMatchObject({ code: 'bad_request' });
  // A whole upload: replaced only by its last chunk.
  await write({ path: '/doc.txt', content: 'new ', upload: 'u-2', offset: 0, last: false });
  await write({ path: '/doc.txt', content: 'and ', upload: 'u-2', offset: 4, last: false });
  expect((await page.evaluate(() => window.__vfs().read('/doc.txt'))).content).toBe('old and whole');
  expect(await write({ path: '/doc.txt', content: 'whole', upload: 'u-2', offset: 8, last: true })).toMatchObject({
    size: 13,
    committed: true,
  });
  expect((await page.evaluate(() => window.__vfs().read('/doc.txt'))).content).toBe('new and whole');
  expect(await page.evaluate(() => window.__vfs().uploadsInFlight())).toBe(0);
});

test('the kernel reads a module larger than one frame from the tab in chunks and runs it', async ({ page }) => {
  test.setTimeout(60_000);
  await openWithVfs(page);
  const size = await page.evaluate(async () => {
    const filler = 'x'.repeat(1_200_000);
    const wat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 20)
  (data (i32.const 8) "big module ok\\n")
  (data (i32.const 65536) "${filler}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 8))
    (i32.store (i32.const 4) (i32.const 14))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 40)))))`;
    return (await window.__vfs().write('/prog/big.wat', wat)).size;
  });
  expect(size).toBeGreaterThan(1024 * 1024);
  await page.evaluate(async () => {
    window.__got = [];
    window.aether.subscribe('vm.*', (e) => window.__got.push(e));
    await window.aether.request('vm.spawn', { module: { path: '/prog/big.wat' } });
  });
  await expect
    .poll(() => page.evaluate(() => window.__got.find((e) => e.topic === 'vm.exit' || e.topic === 'vm.error')?.topic), {
      timeout: 30_000,
    })
    .toBe('vm.exit');
  const stdout = await page.evaluate(() =>
    window.__got.filter((e) => e.topic === 'vm.stdout').map((e) => e.payload?.data).join(''),
  );
  expect(stdout).toBe('big module ok\n');
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

/** Median, in ms, of `runs` timed calls of `how` on `path` of `size` bytes in `page`: `direct` (an
 * IndexedDB read of the bytes in the page), `relayed` (the desktop's relay client reading them back
 * from `to` through the kernel, chunked by the frame cap), or `roundTrip` (the relay client writing
 * fresh bytes to `to` then reading them back). */
async function timeCalls(page: Page, how: 'direct' | 'relayed' | 'roundTrip', to: string, path: string, size: number, runs: number) {
  const times = await page.evaluate(
    async ([how, to, p, size, runs]) => {
      const vfs = window.__vfs();
      const bytes = window.__random(size);
      const once = {
        direct: () => vfs.readBytes(p),
        relayed: () => vfs.relayRead(to, p),
        roundTrip: async () => {
          await vfs.relayWrite(to, p, bytes);
          return vfs.relayRead(to, p);
        },
      }[how];
      for (let i = 0; i < 2; i++) await once(); // warm-up
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await once();
        times.push(performance.now() - t);
      }
      return times;
    },
    [how, to, path, size, runs] as const,
  );
  expect(times).toHaveLength(runs);
  return times.sort((x, y) => x - y)[Math.floor(times.length / 2)];
}

test('figures: relayed vfs:read round trip against the direct IndexedDB read', async ({ page }) => {
  test.setTimeout(300_000);
  // The shared kernel has the default 1 MiB frame: the desktop's client reads 1 MB and 10 MB in chunks.
  const session = await openWithVfs(page);
  const sizes = [
    ['1 KB', 1024, 20],
    ['1 MB', 1024 * 1024, 20],
    ['10 MB', 10 * 1024 * 1024, 5],
  ] as const;
  for (const [label, size, runs] of sizes) {
    const path = `/bench/${size}.bin`;
    await page.evaluate(([p, n]) => window.__vfs().writeBytes(p, window.__random(n)), [path, size] as const);
    const direct = await timeCalls(page, 'direct', session, path, size, runs);
    const relayed = await timeCalls(page, 'relayed', session, path, size, runs);
    let line =
      `FIGURE vfs:read ${label} (medians of ${runs}): direct IndexedDB ${direct.toFixed(2)} ms; ` +
      `relayed, desktop client, default 1 MiB frames ${relayed.toFixed(2)} ms = ${(relayed / direct).toFixed(2)}x direct`;
    if (size >= 10 * 1024 * 1024) {
      const roundTrip = await timeCalls(page, 'roundTrip', session, `/bench/rt-${size}.bin`, size, runs);
      line += `; relayed write + read round trip ${roundTrip.toFixed(1)} ms`;
    }
    console.log(line);
  }
});
