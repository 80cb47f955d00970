// The Terminal as a person uses it: open it, watch Linux boot in the tab, type at the shell,
// resize, save the machine's state into the tab's files and restore it. Real kernel, real v86
// in a Web Worker, real Debian guest: slow on 2 cores, so the tests are marked slow. The boot
// and restore figures are printed (median of 3), never asserted.
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { dockItem, dragEdge, windows } from './support/desktop';
import { ECHO_WAT } from './support/wat';
import {
  BOOT_WAIT_MS,
  openTerminal as openTerminalOn,
  screenText,
  typeLine,
  waitForAnswers,
  waitForShell,
} from './support/terminal';
import type { Locator, Page } from '@playwright/test';

/** Opens the desktop and a Terminal window; returns the window. */
const openTerminal = (page: Page): Promise<Locator> => openTerminalOn(page, '/');


const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('the Terminal boots Linux in the tab, runs commands, resizes, powers off and on', async ({ page }) => {
  test.slow();
  test.setTimeout(2 * BOOT_WAIT_MS + 60_000);
  const started = Date.now();
  const win = await openTerminal(page);
  await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'booting');
  const bootMs = await waitForShell(win, started);
  console.log(`Terminal: open → shell prompt in ${bootMs} ms`);

  await waitForAnswers(page, win);
  await typeLine(page, win, 'echo hi-$((6*7)) && uname -m');
  await expect(screenText(win)).toContainText('hi-42');
  await expect(screenText(win)).toContainText(/i[3-6]86/);

  // The guest's terminal has the window's size: `stty size` says its rows and columns.
  const screen = win.getByTestId('terminal-screen');
  const size = async () => `${await screen.getAttribute('data-rows')} ${await screen.getAttribute('data-cols')}`;
  const sizeBefore = await size();
  await typeLine(page, win, 'stty size');
  await expect(screenText(win)).toContainText(sizeBefore);

  // Resizing the window refits the terminal: more rows on a taller window, and the guest is
  // told (full-screen programs redraw to it).
  const rowsBefore = await win.locator('.xterm-rows > div').count();
  await dragEdge(page, win, 's', 0, 140);
  await dragEdge(page, win, 'e', 90, 0);
  await expect.poll(() => win.locator('.xterm-rows > div').count()).toBeGreaterThan(rowsBefore);
  await expect.poll(size).not.toBe(sizeBefore);
  const sizeAfter = await size();
  await typeLine(page, win, 'clear; echo size=$(stty size)');
  await expect(screenText(win)).toContainText(`size=${sizeAfter}`);

  await win.getByTestId('terminal-power').click();
  await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'off');
  await expect(win.getByTestId('terminal-status')).toContainText('powered off');
  await expect(win.getByTestId('terminal-save')).toBeDisabled();
});

test('a saved machine restores to its shell much faster than a cold boot (figures printed)', async ({ page }) => {
  test.slow();
  test.setTimeout(5 * BOOT_WAIT_MS);
  const win = await openTerminal(page);
  const cold: number[] = [await waitForShell(win, Date.now())];
  // Two more cold boots for the median.
  for (let i = 0; i < 2; i++) {
    await win.getByTestId('terminal-power').click();
    await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'off');
    const t = Date.now();
    await win.getByTestId('terminal-power').click();
    cold.push(await waitForShell(win, t));
  }

  // Leave a mark in the machine (a value the typed line does not spell out), see it, then save.
  await waitForAnswers(page, win);
  await typeLine(page, win, 'echo saved-$((6*7)) > /tmp/mark && cat /tmp/mark');
  await expect(screenText(win)).toContainText('saved-42');
  await win.getByTestId('terminal-save').click();
  await expect(win.getByTestId('terminal-status')).toContainText('state saved to /machines/x86.v86state', { timeout: 60_000 });
  console.log(`Terminal: ${await win.getByTestId('terminal-status').textContent()}`);

  const restores: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = Date.now();
    await win.getByTestId('terminal-restore').click();
    await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'booting');
    restores.push(await waitForShell(win, t));
  }
  // The restored machine is the saved one: the mark is there.
  await waitForAnswers(page, win);
  await typeLine(page, win, 'cat /tmp/mark | tr 4 X');
  await expect(screenText(win)).toContainText('saved-X2');
  console.log(`FIGURE x86 cold boot to the shell prompt (Terminal, median of 3): ${median(cold)} ms (all: ${cold.join(', ')} ms)`);
  console.log(`FIGURE x86 restore from a saved state to the shell prompt (median of 3): ${median(restores)} ms (all: ${restores.join(', ')} ms)`);
});

test('a second Terminal attaches to a WASI program started from the Console', async ({ page }) => {
  await openDesktop(page);
  await dockItem(page, 'console').click();
  const consoleWin = windows(page, 'console');
  await consoleWin.getByTestId('console-wat').fill(ECHO_WAT);
  await consoleWin.getByTestId('console-run').click();
  await expect(consoleWin.getByTestId('console-status')).toHaveAttribute('data-state', 'running');

  await dockItem(page, 'terminal').click();
  const win = windows(page, 'terminal');
  await expect(win).toHaveCount(1);
  const attach = win.getByTestId('terminal-attach');
  await attach.click();
  await expect(attach.locator('option')).toHaveCount(2);
  const pid = (await attach.locator('option').nth(1).getAttribute('value'))!;
  await attach.selectOption(pid);
  await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'attached');

  await typeLine(page, win, 'hi wasm');
  // Echoed as typed, then the program's own copy on the next line; the Console sees it too.
  await expect(screenText(win)).toContainText(/hi wasm.*hi wasm/);
  await expect(consoleWin.getByTestId('console-output')).toContainText('hi wasm');
  await win.getByTestId('terminal-screen').click();
  await page.keyboard.press('Control+D');
  await expect(win.getByTestId('terminal-status')).toContainText(`Program ${pid}: exited with code 0`);
  await expect(consoleWin.getByTestId('console-status')).toHaveAttribute('data-state', 'exited');
});
