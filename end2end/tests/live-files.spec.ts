// The tab's files, live in the x86 guest (`/mnt/files`, a 9p server in the page): in one page with
// the Editor, the Terminal and Files open, an Editor save is what the guest reads next, a file
// the guest writes shows in Files, renames and deletes cross both ways, and a file over the old
// 16 MiB copy limit goes through whole. Real kernel, real v86, real Debian guest; the latencies
// are printed as figures, never asserted.
import { test, expect } from './support/fixtures';
import { raise, windows } from './support/desktop';
import { openFromFiles, readFile, writeFile } from './support/editor';
import { BOOT_WAIT_MS, openTerminal, run, screenText, typeLine, waitForAnswers, waitForShell } from './support/terminal';

test('Editor, Terminal and Files in one page share the same files, live, both ways', async ({ page }) => {
  test.slow();
  test.setTimeout(BOOT_WAIT_MS + 240_000);
  const mark = `m${Date.now()}`;
  await page.goto('/');
  await writeFile(page, '/live/note.txt', 'before\n');
  // The Editor first (the order a person works in), then the Terminal beside it.
  const editor = await openFromFiles(page, '/live/note.txt');
  const term = await openTerminal(page);
  await waitForShell(term, Date.now());
  await waitForAnswers(page, term);
  expect(await run(page, term, 'cat /mnt/files/live/note.txt')).toBe(0);
  await expect(screenText(term)).toContainText('before');

  // The guest waits for the new line with shell builtins only (no process per look), then says so.
  await typeLine(
    page,
    term,
    `clear; while :; do read -r l < /mnt/files/live/note.txt; [ "$l" = "${mark}" ] && break; done; echo seen-$((1+1))-${mark}`,
  );
  await page.evaluate(() => {
    const rows = document.querySelector('section.window[data-app="terminal"] .xterm-rows')!;
    const w = window as any;
    w.__seen = new Promise<number>((resolve) => {
      const look = () => (rows.textContent ?? '').includes('seen-2-') && resolve(performance.now());
      new MutationObserver(look).observe(rows, { childList: true, subtree: true, characterData: true });
    });
  });
  await raise(editor);
  await editor.locator('.monaco-editor .view-lines').click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type(`${mark}\n`);
  // When the tab's files hold the save: looked for every 5 ms (no faster: the looks would slow
  // the page that answers the guest).
  await page.evaluate((m) => {
    const w = window as any;
    w.__stored = (async () => {
      for (;;) {
        const file = await w.aether.vfs.read('/live/note.txt').catch(() => null);
        if (file?.content?.includes(m)) return performance.now();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
  }, mark);
  const savedAt = await page.evaluate(() => performance.now());
  await page.keyboard.press('Control+s');
  await expect(screenText(term)).toContainText(`seen-2-${mark}`, { timeout: 30_000 });
  const [storedAt, seenAt] = await page.evaluate(async () => [await (window as any).__stored, await (window as any).__seen]);
  console.log(`FIGURE Editor Ctrl+S → the guest's read sees the new text (on screen): ${Math.round(seenAt - savedAt)} ms`);
  console.log(`FIGURE   of which Ctrl+S → the tab's files hold it: ${Math.round(storedAt - savedAt)} ms; held → on the guest's screen: ${Math.round(seenAt - storedAt)} ms`);
  expect(await readFile(page, '/live/note.txt')).toBe(`${mark}\n`);

  // The guest writes a file: it is in the tab's files, and Files shows it.
  const files = windows(page, 'files');
  expect(await run(page, term, `mkdir -p /mnt/files/live/out && echo from-guest-${mark} > /mnt/files/live/out/made.txt`)).toBe(0);
  expect(await readFile(page, '/live/out/made.txt')).toBe(`from-guest-${mark}\n`);
  await raise(files);
  await files.locator('[data-testid=vfs-tree-entry][data-path="/live/out"]').click();
  await expect(files.locator('[data-testid=vfs-entry][data-path="/live/out/made.txt"]')).toBeVisible();

  // A rename in the guest is a rename in Files; a delete in the tab is gone from the guest.
  expect(await run(page, term, 'mv /mnt/files/live/out/made.txt /mnt/files/live/out/moved.txt')).toBe(0);
  await expect(files.locator('[data-testid=vfs-entry][data-path="/live/out/moved.txt"]')).toBeVisible();
  await expect(files.locator('[data-testid=vfs-entry][data-path="/live/out/made.txt"]')).toHaveCount(0);
  await page.evaluate(() => (window as any).aether.vfs.rename('/live/out/moved.txt', '/live/out/renamed.txt'));
  expect(await run(page, term, 'ls /mnt/files/live/out')).toBe(0);
  await expect(screenText(term)).toContainText('renamed.txt');
  await page.evaluate(() => (window as any).aether.vfs.delete('/live/out/renamed.txt'));
  expect(await run(page, term, 'test -e /mnt/files/live/out/renamed.txt')).toBe(1);
  expect(await run(page, term, 'rmdir /mnt/files/live/out')).toBe(0);
  await expect(files.locator('[data-testid=vfs-tree-entry][data-path="/live/out"]')).toHaveCount(0);

  // Sizes at the edges: empty, one byte, and 20 MiB (over the old copy's 16 MiB limit).
  expect(await run(page, term, ': > /mnt/files/live/empty && printf x > /mnt/files/live/one')).toBe(0);
  const sizes = await page.evaluate(async () => {
    const vfs = (window as any).aether.vfs;
    return [(await vfs.stat('/live/empty')).size, (await vfs.stat('/live/one')).size];
  });
  expect(sizes).toEqual([0, 1]);
  const bigStarted = Date.now();
  expect(await run(page, term, 'dd if=/dev/zero of=/mnt/files/live/big.bin bs=1M count=20 2>/dev/null', 180_000)).toBe(0);
  console.log(`FIGURE guest writes 20 MiB to /mnt/files (dd, typed → done): ${Date.now() - bigStarted} ms`);
  const bigSize = await page.evaluate(async () => (await (window as any).aether.vfs.stat('/live/big.bin')).size);
  expect(bigSize).toBe(20 * 1024 * 1024);
  const readStarted = Date.now();
  expect(await run(page, term, 'echo size=$(wc -c < /mnt/files/live/big.bin)', 180_000)).toBe(0);
  await expect(screenText(term)).toContainText(`size=${20 * 1024 * 1024}`);
  console.log(`FIGURE guest reads 20 MiB from /mnt/files (wc -c, typed → done): ${Date.now() - readStarted} ms`);
});
