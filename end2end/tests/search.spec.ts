// Search in files (Ctrl+Shift+F) as a person uses it: 200 files of which 3 hold a word, the
// overlay finds those 3 with their lines, the regex and case toggles and a path glob change what
// it finds, Enter opens the Editor with the caret on the match; an empty query asks nothing, an
// invalid regex is said in place, a binary file is skipped. The last test prints the figures of
// 10,000 files / 50 MB. DOM contract in desktop/src/shell/find_in_files/mod.rs.
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { editorTab, editorWindow } from './support/editor';
import type { Page } from '@playwright/test';

const WORD = 'zebra_quartz';

/** Where the word is: path, 1-based line, the line's text. */
const PLANTED = [
  { path: '/proj/f017.txt', line: 5, text: `    let x = ${WORD}; // first` },
  { path: '/proj/f120.md', line: 12, text: `A ${WORD} in the notes` },
  { path: '/proj/f199.rs', line: 1, text: `fn ${WORD}() {}` },
];

/** Writes `count` text files under /proj (f000.txt …), the word planted in three of them, a
 * fourth holding `zebra_onyx`, and a binary file holding the word. */
async function seed(page: Page, count = 200): Promise<void> {
  await page.waitForFunction(() => (window as any).aether?.vfs !== undefined);
  await page.evaluate(() => (window as any).aether.vfs.ready());
  await page.evaluate(
    async ([count, planted, word]) => {
      const paths: string[] = [];
      const texts: string[] = [];
      for (let i = 0; i < count; i++) {
        const name = `f${String(i).padStart(3, '0')}`;
        const ext = i === 120 ? 'md' : i === 199 ? 'rs' : 'txt';
        const path = `/proj/${name}.${ext}`;
        const lines = Array.from({ length: 20 }, (_, n) => `file ${i} line ${n + 1}: nothing to see`);
        const plant = (planted as { path: string; line: number; text: string }[]).find((p) => p.path === path);
        if (plant) lines[plant.line - 1] = plant.text;
        if (i === 60) lines[2] = 'a zebra_onyx stands here';
        paths.push(path);
        texts.push(lines.join('\n'));
      }
      await (window as any).aether.vfs.writeMany(paths, texts);
      // Binary: its bytes spell the word, but it holds NUL.
      const bytes = new TextEncoder().encode(`\0\0${word}\0`);
      await (window as any).aether.vfs.writeBytes('/proj/blob.bin', bytes);
    },
    [count, PLANTED, WORD] as const,
  );
}

const overlay = (page: Page) => page.getByTestId('search');
const results = (page: Page) => overlay(page).getByTestId('search-result');
const fileGroups = (page: Page) => overlay(page).getByTestId('search-file');

/** The paths of the file groups shown. */
async function shownFiles(page: Page): Promise<string[]> {
  return await fileGroups(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-path') ?? ''));
}

/** Types `query` into the overlay's field (replacing what was there) and waits for its answer. */
async function searchFor(page: Page, query: string): Promise<void> {
  await overlay(page).getByTestId('search-input').fill(query);
  await expect(overlay(page).getByTestId('search-summary').or(overlay(page).getByTestId('search-error'))).toBeVisible();
}

test('Ctrl+Shift+F finds the 3 files of 200 that hold a word, with their lines, and skips a binary file', async ({ page }) => {
  await openDesktop(page);
  await seed(page);
  await page.keyboard.press('Control+Shift+F');
  await expect(overlay(page)).toBeVisible();
  await expect(overlay(page).getByTestId('search-input')).toBeFocused();
  await searchFor(page, WORD);
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('3 results in 3 files');
  expect(await shownFiles(page)).toEqual(PLANTED.map((p) => p.path));
  // One line each, with its number and its text, the word marked.
  for (const plant of PLANTED) {
    const row = results(page).and(page.locator(`[data-path="${plant.path}"]`));
    await expect(row).toHaveAttribute('data-line', String(plant.line));
    await expect(row.locator('.search-preview')).toHaveText(plant.text.trimStart());
    await expect(row.locator('mark.search-hit')).toHaveText(WORD);
  }
  // The first result is selected; ↓ moves on, ↑ wraps to the last.
  await expect(results(page).nth(0)).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowDown');
  await expect(results(page).nth(1)).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await expect(results(page).nth(2)).toHaveAttribute('aria-selected', 'true');
  // Escape closes it; the shortcut toggles it.
  await page.keyboard.press('Escape');
  await expect(overlay(page)).toHaveCount(0);
});

test('the case and regex toggles and a path glob change what is found', async ({ page }) => {
  await openDesktop(page);
  await seed(page);
  await page.keyboard.press('Control+Shift+F');
  const caseToggle = overlay(page).getByTestId('search-case');
  const regexToggle = overlay(page).getByTestId('search-regex');
  await expect(caseToggle).toHaveAttribute('aria-pressed', 'false');
  await expect(regexToggle).toHaveAttribute('aria-pressed', 'false');

  // Any case matches until Match case is on.
  await searchFor(page, WORD.toUpperCase());
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('3 results in 3 files');
  await caseToggle.click();
  await expect(caseToggle).toHaveAttribute('aria-pressed', 'true');
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('No results.');
  await expect(results(page)).toHaveCount(0);
  await page.keyboard.press('Alt+C'); // from the keyboard, back off
  await expect(caseToggle).toHaveAttribute('aria-pressed', 'false');
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('3 results in 3 files');

  // As plain text a pattern means itself; as a regex it matches both words.
  await searchFor(page, 'zebra_(quartz|onyx)');
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('No results.');
  await regexToggle.click();
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('4 results in 4 files');
  expect(await shownFiles(page)).toContain('/proj/f060.txt');
  await expect(results(page).and(page.locator('[data-path="/proj/f060.txt"]')).locator('mark.search-hit')).toHaveText(
    'zebra_onyx',
  );

  // A glob narrows the files: by name, then by path.
  const glob = overlay(page).getByTestId('search-glob');
  await glob.fill('*.md');
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('1 result in 1 file');
  expect(await shownFiles(page)).toEqual(['/proj/f120.md']);
  await glob.fill('proj/f1*');
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('2 results in 2 files');
  expect(await shownFiles(page)).toEqual(['/proj/f120.md', '/proj/f199.rs']);
  await glob.fill('');
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('4 results in 4 files');
});

test('Enter on a result opens the Editor with the caret on its line', async ({ page }) => {
  await openDesktop(page);
  await seed(page);
  await page.keyboard.press('Control+Shift+F');
  await searchFor(page, WORD);
  await expect(results(page)).toHaveCount(3);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(overlay(page)).toHaveCount(0);
  await expect(editorTab(page, '/proj/f120.md')).toHaveAttribute('data-active', 'true');
  // The caret of the Editor showing `path` (null when none shows it).
  const caret = (path: string) => () =>
    page.evaluate((path) => {
      const editor = (window as any).monaco?.editor
        .getEditors()
        .find((e: any) => decodeURIComponent(e.getModel()?.uri.path ?? '') === path);
      const position = editor?.getPosition();
      return position ? { line: position.lineNumber, column: position.column } : null;
    }, path);
  // "A zebra_quartz …": the word starts at column 3 of line 12.
  await expect.poll(caret('/proj/f120.md')).toEqual({ line: 12, column: 3 });
  // The line is in view.
  await expect(editorWindow(page).locator('.view-line', { hasText: `A ${WORD} in the notes` })).toBeVisible();

  // A click opens another result in the same Editor.
  await page.keyboard.press('Control+Shift+F');
  await searchFor(page, WORD);
  await results(page).and(page.locator('[data-path="/proj/f017.txt"]')).click();
  await expect(editorTab(page, '/proj/f017.txt')).toHaveAttribute('data-active', 'true');
  // "    let x = zebra_quartz;": column 13 of line 5.
  await expect.poll(caret('/proj/f017.txt')).toEqual({ line: 5, column: 13 });
});

test('an empty query shows nothing and an invalid regex is said in place, not a crash', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openDesktop(page);
  await seed(page, 20);
  await page.keyboard.press('Control+Shift+F');
  const input = overlay(page).getByTestId('search-input');
  await expect(input).toBeFocused();
  // Nothing typed: no summary, no error, no results; typing then clearing goes back to that.
  await page.waitForTimeout(400); // longer than the typing pause: a search would have answered
  await expect(overlay(page).getByTestId('search-summary')).toHaveCount(0);
  await expect(overlay(page).getByTestId('search-error')).toHaveCount(0);
  await searchFor(page, 'line 1:');
  await expect(results(page)).not.toHaveCount(0);
  await input.fill('');
  await expect(results(page)).toHaveCount(0);
  await expect(overlay(page).getByTestId('search-summary')).toHaveCount(0);
  await expect(overlay(page).getByTestId('search-error')).toHaveCount(0);

  // An unclosed group: the parser's sentence, the overlay still usable.
  await page.keyboard.press('Alt+R');
  await expect(overlay(page).getByTestId('search-regex')).toHaveAttribute('aria-pressed', 'true');
  await searchFor(page, 'line (1');
  const error = overlay(page).getByTestId('search-error');
  await expect(error).toContainText('not a valid regular expression');
  await expect(error).toContainText('search for plain text');
  await expect(results(page)).toHaveCount(0);
  await searchFor(page, 'line (1):');
  await expect(error).toHaveCount(0);
  await expect(results(page)).not.toHaveCount(0);
  // An unclosed glob brace is said too.
  await overlay(page).getByTestId('search-glob').fill('{a,b');
  await expect(error).toContainText('`{` without its `}`');
  expect(errors).toEqual([]);
});

test('figure: searching 10,000 files / 50 MB', async ({ page }) => {
  test.setTimeout(600_000);
  await openDesktop(page);
  await page.evaluate(() => (window as any).aether.vfs.ready());
  const FILES = 10_000;
  const FILE_BYTES = 5_000;
  const seeded = await page.evaluate(
    async ([files, fileBytes, word]) => {
      const started = performance.now();
      const line = (i: number, n: number) => `row ${n} of file ${i}: the quick brown fox jumps over the lazy dog\n`;
      let total = 0;
      for (let start = 0; start < files; start += 500) {
        const paths: string[] = [];
        const texts: string[] = [];
        for (let i = start; i < Math.min(files, start + 500); i++) {
          let text = '';
          for (let n = 1; text.length < fileBytes; n++) text += line(i, n);
          text = text.slice(0, fileBytes - 1) + '\n';
          if (i === 10 || i === 5_000 || i === 9_999) text = `${word} is here\n` + text.slice(word.length + 9);
          paths.push(`/big/d${Math.floor(i / 100)}/f${i}.txt`);
          texts.push(text);
          total += text.length;
        }
        await (window as any).aether.vfs.writeMany(paths, texts);
      }
      return { total, ms: performance.now() - started };
    },
    [FILES, FILE_BYTES, WORD] as const,
  );
  console.log(`FIGURE search: seeded ${FILES} files / ${(seeded.total / 1e6).toFixed(1)} MB in ${Math.round(seeded.ms)} ms`);

  type Timed = { ms: number; matches: number; files: number };
  const timed = (request: Record<string, unknown>, relay: boolean) =>
    page.evaluate(
      async ([request, relay]) => {
        const aether = (window as any).aether;
        const started = performance.now();
        const found = relay
          ? await aether.request('vfs:search', request, { to: aether.vfs.sessionId(), timeoutMs: 60_000 })
          : await aether.vfs.search(request);
        const ms = performance.now() - started;
        const files = new Set(found.matches.map((m: { path: string }) => m.path)).size;
        return { ms, matches: found.matches.length, files };
      },
      [request, relay] as const,
    ) as Promise<Timed>;
  const median = async (request: Record<string, unknown>, relay = false) => {
    const runs: Timed[] = [];
    for (let i = 0; i < 3; i++) runs.push(await timed(request, relay));
    expect(runs.every((r) => r.files === 3)).toBe(true);
    const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
    return `${Math.round(ms[1])} ms (runs: ${runs.map((r) => Math.round(r.ms)).join(', ')} ms)`;
  };
  console.log(`FIGURE search 10,000 files / 50 MB, plain text, in the tab (median of 3): ${await median({ query: WORD })}`);
  console.log(
    `FIGURE search 10,000 files / 50 MB, regex ignoring case (median of 3): ${await median({ query: 'ZEBRA_\\w+Z', regex: true, ignore_case: true })}`,
  );
  console.log(
    `FIGURE search 10,000 files / 50 MB, plain text through the kernel's relay (median of 3): ${await median({ query: WORD }, true)}`,
  );

  // The floor under those: IndexedDB alone handing every file's bytes to the page, in one
  // request from plain JavaScript (what the search reads, without scanning anything).
  const floorMs = await page.evaluate(async () => {
    const name = `aether-vfs.${(window as any).aether.vfs.sessionId()}`;
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const open = indexedDB.open(name);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const started = performance.now();
    const values: unknown[] = await new Promise((resolve, reject) => {
      const all = db.transaction('contents').objectStore('contents').getAll();
      all.onsuccess = () => resolve(all.result);
      all.onerror = () => reject(all.error);
    });
    const ms = performance.now() - started;
    db.close();
    return values.length > 0 ? ms : -1;
  });
  console.log(`FIGURE search floor: IndexedDB getAll of every file's bytes (plain JS, one request): ${Math.round(floorMs)} ms`);

  // Through the overlay: from the last keystroke to the results on screen (includes the 150 ms
  // typing pause).
  await page.keyboard.press('Control+Shift+F');
  const input = overlay(page).getByTestId('search-input');
  await input.fill('no such word anywhere');
  await expect(overlay(page).getByTestId('search-summary')).toHaveText('No results.');
  const shownMs = await page.evaluate(async (word) => {
    const field = document.querySelector('[data-testid=search-input]') as HTMLInputElement;
    const started = performance.now();
    field.value = word;
    field.dispatchEvent(new Event('input', { bubbles: true }));
    while (document.querySelector('[data-testid=search-summary]')?.textContent !== '3 results in 3 files') {
      await new Promise((r) => requestAnimationFrame(r));
    }
    return performance.now() - started;
  }, WORD);
  console.log(`FIGURE search 10,000 files / 50 MB in the overlay, keystroke → results shown: ${Math.round(shownMs)} ms (150 ms of it the typing pause)`);
  await expect(fileGroups(page)).toHaveCount(3);
});
