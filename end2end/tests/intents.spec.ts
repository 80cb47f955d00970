// Apps asking each other for things through the window manager (`open_with` and an intent):
// Files opens a file in the Editor and runs a task definition in Tasks, the Console shows its
// program in a Terminal. And the streams behind the apps' programs close when they end or when
// their window closes. DOM contracts in desktop/src/apps/*/mod.rs.
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { dockItem, windows } from './support/desktop';
import { editorTab, editorWindow } from './support/editor';
import { ECHO_WAT } from './support/wat';
import type { Locator, Page } from '@playwright/test';

/** Opens the Files app and selects `path` (in `/welcome`); returns the Files window. */
async function selectInFiles(page: Page, path: string): Promise<Locator> {
  const files = windows(page, 'files');
  if ((await files.count()) === 0) await dockItem(page, 'files').click();
  await files.locator('[data-testid=vfs-tree-entry][data-path="/welcome"]').click();
  await files.locator(`[data-testid=vfs-entry][data-path="${path}"]`).click();
  return files;
}

/** Runs ECHO_WAT in a new Console window; returns the window once the program runs. */
async function runEcho(page: Page): Promise<Locator> {
  await dockItem(page, 'console').click();
  const win = windows(page, 'console');
  await win.getByTestId('console-wat').fill(ECHO_WAT);
  await win.getByTestId('console-run').click();
  await expect(win.getByTestId('console-status')).toHaveText(/running · pid \d+/);
  return win;
}

test('Edit in Files opens the file in the Editor, and again in the same Editor brought forward', async ({ page }) => {
  await openDesktop(page);
  const files = await selectInFiles(page, '/welcome/README.md');
  await files.getByTestId('files-edit').click();
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-active', 'true');
  const editor = editorWindow(page);
  await editor.locator('.window-minimize').click();
  await expect(editor).toHaveAttribute('data-state', 'minimized');

  await selectInFiles(page, '/welcome/hello.wat');
  await files.getByTestId('files-edit').click();
  await expect(editorWindow(page)).toHaveCount(1);
  await expect(editor).toHaveAttribute('data-state', 'normal');
  await expect(editor).toHaveClass(/focused/);
  await expect(editorTab(page, '/welcome/hello.wat')).toHaveAttribute('data-active', 'true');
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-active', 'false');
});

test('Run task in Files loads the definition into Tasks and runs it', async ({ page }) => {
  await openDesktop(page);
  const files = await selectInFiles(page, '/welcome/README.md');
  await expect(files.getByTestId('files-run-task')).toHaveCount(0);
  await selectInFiles(page, '/welcome/pipeline.task.yaml');
  await files.getByTestId('files-run-task').click();
  const tasks = windows(page, 'tasks');
  await expect(tasks).toHaveCount(1);
  await expect(tasks.getByTestId('tasks-path')).toHaveValue('/welcome/pipeline.task.yaml');
  await expect(tasks.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
});

test("the Console's Terminal button shows its program in a Terminal attached to it", async ({ page }) => {
  await openDesktop(page);
  const consoleWin = await runEcho(page);
  const pid = (await consoleWin.getByTestId('console-status').textContent())!.match(/pid (\d+)/)![1];

  await consoleWin.getByTestId('console-terminal').click();
  const win = windows(page, 'terminal');
  await expect(win).toHaveCount(1);
  const status = win.getByTestId('terminal-status');
  await expect(status).toHaveAttribute('data-state', 'attached');
  await expect(status).toContainText(`Program ${pid}: attached`);
  const screen = win.locator('.xterm-rows');
  await expect(screen).toContainText(`Attached to program ${pid}`);

  await win.getByTestId('terminal-screen').click();
  await page.keyboard.type('via intent');
  await page.keyboard.press('Enter');
  await expect(screen).toContainText(/via intent.*via intent/);
  await expect(consoleWin.getByTestId('console-output')).toContainText('via intent');
  // Attached instead of booting: the window started no x86 machine.
  const programs = await page.evaluate(() => window.aether.request('vm.list', {}));
  expect(JSON.stringify(programs)).not.toContain('x86');

  await page.keyboard.press('Control+D');
  await expect(status).toContainText(`Program ${pid}: exited with code 0`);
  await expect(consoleWin.getByTestId('console-status')).toHaveAttribute('data-state', 'exited');
  await expect(consoleWin.getByTestId('console-terminal')).toBeDisabled();
});

test('a program stream closes when the program ends and when its window closes', async ({ page }) => {
  await openDesktop(page);
  expect(await page.evaluate(() => window.aether.openStreams())).toBe(0);
  const consoleWin = await runEcho(page);
  expect(await page.evaluate(() => window.aether.openStreams())).toBe(1);
  await consoleWin.getByTestId('console-eof').click();
  await expect(consoleWin.getByTestId('console-status')).toHaveAttribute('data-state', 'exited');
  await expect.poll(() => page.evaluate(() => window.aether.openStreams())).toBe(0);

  await consoleWin.getByTestId('console-run').click();
  await expect(consoleWin.getByTestId('console-status')).toHaveText(/running · pid \d+/);
  expect(await page.evaluate(() => window.aether.openStreams())).toBe(1);
  await consoleWin.locator('.window-close').click();
  await expect(windows(page, 'console')).toHaveCount(0);
  await expect.poll(() => page.evaluate(() => window.aether.openStreams())).toBe(0);
  // Closing the window killed its program too.
  await expect
    .poll(async () => JSON.stringify(await page.evaluate(() => window.aether.request('vm.list', {}))))
    .toContain('"programs":[]');
});
