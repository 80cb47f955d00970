// Helpers for the specs that use the Terminal as a person does: open it, wait for the guest's
// shell, type lines, read the screen.
import { expect, type Locator, type Page } from '@playwright/test';
import { openDesktop } from './aether';
import { dockItem, raise, windows } from './desktop';

/** The guest shell's prompt. */
export const PROMPT = 'root@aether:';
/** How long a cold boot may take on a loaded 2-core machine. */
export const BOOT_WAIT_MS = 240_000;

/** The text on the terminal's screen (xterm's DOM rows). */
export const screenText = (win: Locator) => win.locator('.xterm-rows');

/** Opens a Terminal window (on the desktop already open, or opening it at `url`). */
export async function openTerminal(page: Page, url?: string): Promise<Locator> {
  if (url !== undefined) await openDesktop(page, url);
  await dockItem(page, 'terminal').click();
  const win = windows(page, 'terminal');
  await expect(win).toHaveCount(1);
  return win;
}

/** Waits for the machine to run with a shell prompt on screen; returns how long it took. */
export async function waitForShell(win: Locator, since: number): Promise<number> {
  await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'running', { timeout: BOOT_WAIT_MS });
  await expect(screenText(win)).toContainText(PROMPT, { timeout: 30_000 });
  return Date.now() - since;
}

/** Types a line at the shell (raising the window first: other windows may cover it). */
export async function typeLine(page: Page, win: Locator, line: string): Promise<void> {
  await raise(win);
  await win.getByTestId('terminal-screen').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

let probes = 0;

/**
 * Waits until the shell answers what is typed: the prompt on screen may still be the previous
 * boot's, and keys typed while the guest's shell is still starting can be lost (as on any Linux
 * console). Each probe asks for a sum the screen cannot already hold.
 */
export async function waitForAnswers(page: Page, win: Locator): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    probes += 1;
    await typeLine(page, win, `echo probe-$((5000+${probes}))`);
    try {
      await expect(screenText(win)).toContainText(`probe-${5000 + probes}`, { timeout: 5_000 });
      return;
    } catch {
      // Not answering yet: probe again.
    }
  }
  throw new Error('the guest shell never answered a probe');
}

/** Types `command` and waits for the line `<tag>-done-<status>` it ends with; returns the status. */
export async function run(page: Page, win: Locator, command: string, timeout = 60_000): Promise<number> {
  probes += 1;
  const tag = `r${probes}`;
  await typeLine(page, win, `clear; ${command}; echo ${tag}-done-$?`);
  const line = new RegExp(`${tag}-done-(\\d+)`);
  await expect(screenText(win)).toContainText(line, { timeout });
  const text = (await screenText(win).textContent()) ?? '';
  return Number(line.exec(text)?.[1] ?? -1);
}
