// The Console as a person uses it: run WAT and sample programs on the kernel, watch their output,
// type into them, kill them, and run several at once in tabs. DOM contract in
// desktop/src/apps/console/mod.rs and panel.rs.
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { windows } from './support/desktop';
import { ECHO_WAT } from './support/wat';
import type { Locator, Page } from '@playwright/test';

/** Never ends by itself. */
const LOOP_WAT = `(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))`;

/** Opens the desktop and a Console window from the dock; returns the window. */
async function openConsole(page: Page): Promise<Locator> {
  await openDesktop(page);
  await page.locator('button.dock-item[data-app=console]').click();
  const win = windows(page, 'console');
  await expect(win).toHaveCount(1);
  return win;
}

/** Puts `wat` in the WAT editor and presses Run. */
async function runWat(win: Locator, wat: string): Promise<void> {
  await win.getByTestId('console-wat').fill(wat);
  await win.getByTestId('console-run').click();
}

test('the starter WAT program prints its greeting and exits 0 with its figures', async ({ page }) => {
  const win = await openConsole(page);
  await win.getByTestId('console-run').click();
  await expect(win.getByTestId('console-output')).toHaveText('Hello from WAT!\n');
  const status = win.getByTestId('console-status');
  await expect(status).toHaveAttribute('data-state', 'exited');
  await expect(status).toHaveText(/^exit 0 · \d+ ms · fuel [\d.]+( [kMG])? · memory [\d.]+ (B|KiB|MiB)$/);
  await expect(win.getByTestId('console-kill')).toBeDisabled();
});

test('a line typed into stdin reaches the program, and EOF ends it', async ({ page }) => {
  const win = await openConsole(page);
  await runWat(win, ECHO_WAT);
  const stdin = win.getByTestId('console-stdin');
  await stdin.fill('hello console');
  await stdin.press('Enter');
  const output = win.getByTestId('console-output');
  await expect(output.locator('.console-stdout')).toHaveText('hello console\n');
  await expect(win.getByTestId('console-status')).toHaveAttribute('data-state', 'running');
  await win.getByTestId('console-eof').click();
  await expect(win.getByTestId('console-status')).toHaveAttribute('data-state', 'exited');
  await expect(win.getByTestId('console-status')).toHaveText(/^exit 0 /);
  // The typed line is echoed once, as input, besides the program's copy.
  await expect(output.locator('.console-stdin-echo')).toHaveText('hello console\n');
  await expect(stdin).toBeDisabled();
});

test('Kill stops a program that never ends, and the status says cancelled', async ({ page }) => {
  const win = await openConsole(page);
  await runWat(win, LOOP_WAT);
  const status = win.getByTestId('console-status');
  await expect(status).toHaveText(/^running · pid \d+$/);
  await win.getByTestId('console-kill').click();
  await expect(status).toHaveAttribute('data-state', 'error');
  await expect(status).toHaveText(/^cancelled: /);
});

test('runs live side by side in tabs, and closing the tab of a running program kills it', async ({ page }) => {
  const win = await openConsole(page);
  await runWat(win, LOOP_WAT);
  await expect(win.getByTestId('console-status')).toHaveText(/^running · pid/);
  await win.getByTestId('console-run').click();
  const tabs = win.getByTestId('console-tab');
  await expect(tabs).toHaveCount(2);
  await expect(win.getByTestId('console-status')).toHaveText(/^running · pid/);
  const running = async () =>
    ((await page.evaluate(() => window.aether.request('vm.list', {}))).programs as unknown[]).length;
  await expect.poll(running).toBe(2);

  await win.locator('.console-tab').first().locator('.console-tab-close').click();
  await expect(tabs).toHaveCount(1);
  await expect.poll(running).toBe(1);

  // Closing the window kills the rest.
  await win.locator('.window-close').click();
  await expect(windows(page, 'console')).toHaveCount(0);
  await expect.poll(running).toBe(0);
});

test('a module the kernel cannot compile ends with bad_request and the compiler message', async ({ page }) => {
  const win = await openConsole(page);
  await runWat(win, '(module (func');
  const status = win.getByTestId('console-status');
  await expect(status).toHaveAttribute('data-state', 'error');
  await expect(status).toHaveText(/^bad_request: .*WAT/);
});

test('a VFS path that cannot be read shows why', async ({ page }) => {
  const win = await openConsole(page);
  await win.getByTestId('console-path').fill('/no/such/program.wasm');
  await win.getByTestId('console-run').click();
  const status = win.getByTestId('console-status');
  await expect(status).toHaveAttribute('data-state', 'error');
  // Without a VFS session the kernel has nowhere to read from; with one, the file is missing.
  await expect(status).toHaveText(/^(session_not_found|not_found): /);
  await expect(win.getByTestId('console-tab')).toHaveText('program.wasm');
});

test('the hello sample runs from the Samples menu', async ({ page }) => {
  const sample = await page.request.get('/samples/hello.wasm');
  test.skip(!sample.ok(), 'the build did not place the sample guests under /samples');
  const win = await openConsole(page);
  await win.getByTestId('console-sample-hello').click();
  await expect(win.getByTestId('console-sample-hello')).toHaveAttribute('aria-pressed', 'true');
  await win.getByTestId('console-run').click();
  await expect(win.getByTestId('console-output')).toHaveText('Hello from WebAssembly!\n');
  await expect(win.getByTestId('console-status')).toHaveText(/^exit 0 /);
});
