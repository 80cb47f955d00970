// The Editor as a person uses it: open a file from Files, edit, save with Ctrl+S, reload and find it
// saved; unsaved work survives a reload as a draft and closing its tab asks first; Ctrl+P opens by
// name; Run shows a WAT program's output and a WAT error as a marker on its line. The last test
// prints the Editor's figures. DOM contract in desktop/src/apps/editor/mod.rs.
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import {
  editorTab,
  editorWindow,
  markers,
  modelText,
  openFromFiles,
  readFile,
  typeAtEnd,
  writeFile,
} from './support/editor';

const BAD_WAT = `(module
  (memory (export "memory") 1)
  (func (export "_start")
    i32.bogus))`;

test('a file opened from Files is edited, saved with Ctrl+S and still saved after a reload', async ({ page }) => {
  const win = await openFromFiles(page, '/welcome/README.md');
  await expect(win).toHaveAttribute('data-app', 'editor');
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-dirty', 'false');
  await typeAtEnd(page, '\nEdited in the editor.');
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-dirty', 'true');
  await page.keyboard.press('Control+s');
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-dirty', 'false');
  expect(await readFile(page, '/welcome/README.md')).toContain('Edited in the editor.');

  await page.reload();
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-dirty', 'false');
  await expect.poll(() => modelText(page, '/welcome/README.md')).toContain('Edited in the editor.');
});

test('unsaved work survives a reload and a closed window as a draft, and closing its tab asks first', async ({ page }) => {
  await openFromFiles(page, '/welcome/hello.wat');
  await typeAtEnd(page, '\n;; not saved yet');
  const tab = editorTab(page, '/welcome/hello.wat');
  await expect(tab).toHaveAttribute('data-dirty', 'true');

  await page.reload();
  await expect(tab).toHaveAttribute('data-dirty', 'true');
  await expect.poll(() => modelText(page, '/welcome/hello.wat')).toContain(';; not saved yet');
  expect(await readFile(page, '/welcome/hello.wat')).not.toContain('not saved yet');

  // Closing the window loses nothing either: the draft comes back with the window.
  await editorWindow(page).locator('.window-close').click();
  await expect(editorWindow(page)).toHaveCount(0);
  await page.getByTestId('dock-editor').click();
  await expect(tab).toHaveAttribute('data-dirty', 'true');
  await expect.poll(() => modelText(page, '/welcome/hello.wat')).toContain(';; not saved yet');

  await tab.getByTestId('editor-tab-close').click();
  const confirm = editorWindow(page).getByTestId('editor-confirm-close');
  await expect(confirm).toContainText('hello.wat has unsaved changes');
  await confirm.getByTestId('editor-close-cancel').click();
  await expect(tab).toHaveCount(1);
  await tab.getByTestId('editor-tab-close').click();
  await confirm.getByTestId('editor-close-discard').click();
  await expect(tab).toHaveCount(0);
  await page.reload();
  await expect(editorWindow(page).getByTestId('editor')).toHaveAttribute('data-ready', 'true');
  await expect(tab).toHaveCount(0);
});

test('Ctrl+P opens a file by name', async ({ page }) => {
  await openFromFiles(page, '/welcome/README.md');
  await page.keyboard.press('Control+p');
  const box = editorWindow(page).getByTestId('editor-quick-open');
  await expect(box).toBeFocused();
  await box.fill('hello.w');
  await expect(editorWindow(page).getByTestId('quick-open-item').first()).toHaveAttribute('data-path', '/welcome/hello.wat');
  await box.press('Enter');
  await expect(editorTab(page, '/welcome/hello.wat')).toHaveAttribute('data-active', 'true');
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-active', 'false');
});

test('Run (Ctrl+Enter) runs the WAT file in front and shows its output', async ({ page }) => {
  const win = await openFromFiles(page, '/welcome/hello.wat');
  await win.locator('.monaco-editor .view-lines').click();
  await page.keyboard.press('Control+Enter');
  const output = win.getByTestId('editor-output');
  await expect(output).toHaveAttribute('data-state', 'exited');
  await expect(win.getByTestId('editor-output-text')).toContainText('Hello');
  await expect(win.getByTestId('editor-output-status')).toHaveText(/^exit 0 · \d+ ms$/);
});

test('a .wasm file opens as a read-only note and Run executes it', async ({ page }) => {
  const win = await openFromFiles(page, '/welcome/hello.wasm');
  await expect.poll(() => modelText(page, '/welcome/hello.wasm')).toContain('binary WebAssembly module');
  await page.keyboard.press('Control+Enter');
  await expect(win.getByTestId('editor-output')).toHaveAttribute('data-state', 'exited');
  await expect(win.getByTestId('editor-output-text')).toContainText('Hello');
  await page.keyboard.type('typed');
  expect(await modelText(page, '/welcome/hello.wasm')).not.toContain('typed');
});

test('a WAT compile error is a marker on its line', async ({ page }) => {
  await openDesktop(page);
  await writeFile(page, '/bad.wat', BAD_WAT);
  await page.getByTestId('dock-editor').click();
  await expect(editorWindow(page).getByTestId('editor')).toHaveAttribute('data-ready', 'true');
  await editorWindow(page).getByTestId('editor-open').click();
  await page.keyboard.type('bad.wat');
  await page.keyboard.press('Enter');
  await expect(editorTab(page, '/bad.wat')).toHaveAttribute('data-active', 'true');
  await editorWindow(page).getByTestId('editor-run').click();
  await expect(editorWindow(page).getByTestId('editor-output')).toHaveAttribute('data-state', 'error');
  await expect.poll(() => markers(page, '/bad.wat')).toEqual([
    { line: 4, message: expect.stringContaining('bogus') },
  ]);
  await expect(editorWindow(page).locator('.squiggly-error')).not.toHaveCount(0);
});

test('prints the Editor figures: first window to typeable (median of 5) and what Monaco adds', async ({ browser, baseURL }) => {
  const times: number[] = [];
  let monacoWire = 0;
  let monacoBody = 0;
  let monacoFiles = 0;
  for (let i = 0; i < 5; i++) {
    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();
    await openDesktop(page);
    await page.getByTestId('dock-files').click();
    await page.locator('[data-testid=vfs-tree-entry][data-path="/welcome"]').click();
    await page.locator('[data-testid=vfs-entry][data-path="/welcome/README.md"]').click();
    const started = Date.now();
    await page.getByTestId('files-edit').click();
    // Typeable: the keyboard focus is inside Monaco (its input element varies by browser).
    await page.waitForFunction(() => !!document.activeElement?.closest('.monaco-editor'), undefined, { polling: 5 });
    await page.keyboard.type('x');
    await expect.poll(() => modelText(page, '/welcome/README.md'), { intervals: [5] }).toMatch(/^x/);
    times.push(Date.now() - started);
    if (i === 0) {
      const entries = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((e) => e.name.includes('/monaco/'))
          .map((e) => [(e as PerformanceResourceTiming).transferSize, (e as PerformanceResourceTiming).decodedBodySize]),
      );
      monacoFiles = entries.length;
      monacoWire = entries.reduce((s, [t]) => s + t, 0);
      monacoBody = entries.reduce((s, [, d]) => s + d, 0);
    }
    await context.close();
  }
  times.sort((a, b) => a - b);
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  console.log(
    `FIGURE editor first window → typeable (median of 5): ${times[2]} ms (all: ${times.join(', ')} ms)\n` +
      `FIGURE Monaco loaded for the first editor: ${monacoFiles} files, ${kb(monacoWire)} on the wire, ${kb(monacoBody)} decoded`,
  );
  expect(times).toHaveLength(5);
});
