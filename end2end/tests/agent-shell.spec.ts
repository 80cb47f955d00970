// The agent's `shell` tool (`vm.exec`) against a kernel pointed at the loopback provider, in a real
// tab with its real x86 machine: the model asks to run a command, its card shows the full command
// before anything runs, the user allows it, and it runs with `sh -c` in this tab's machine (booted
// for it without a window when no Terminal runs, the Terminal's own when one does) on the guest's
// third serial port; its output and exit status come back as the call's result, and a command
// past its `timeout_ms` fails with the limit named. The user's Terminal line is not touched.
import type { Locator, Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { dockItem, windows } from './support/desktop';
import { aiKernel } from './support/ai-provider';
import { BOOT_WAIT_MS, PROMPT } from './support/terminal';

const COMMAND = 'echo $((6*7)); uname -m';

const ai = aiKernel();

async function openAgent(page: Page): Promise<Locator> {
  await page.getByTestId('dock-agent').click();
  const win = windows(page, 'agent');
  await expect(win.getByTestId('agent')).toBeVisible();
  return win;
}

/** The card of the run's `nth` call of `shell`. */
const card = (win: Locator, nth = 0) => win.locator('[data-testid=agent-call][data-tool=shell]').nth(nth);

/** The tool results the model was sent on its turns since `from`, parsed. */
function toolResults(from: number): any[] {
  const last = ai.provider.seen.at(-1);
  if (!last || ai.provider.seen.length <= from) return [];
  return last.messages
    .filter((m) => m.role === 'tool')
    .map((m) => {
      try {
        return JSON.parse(m.content);
      } catch {
        return m.content;
      }
    });
}

/** Starts a run whose model calls what `script` says; returns the Agent window. */
async function startRun(page: Page, goal: string): Promise<Locator> {
  const win = await openAgent(page);
  await win.getByTestId('agent-goal').fill(goal);
  await win.getByTestId('agent-start').click();
  return win;
}

/** Allows the waiting call `call` once its card shows `command`; returns how long it then took to end. */
async function allow(call: Locator, command: string, state: 'ok' | 'failed'): Promise<number> {
  await expect(call).toHaveAttribute('data-state', 'waiting');
  await expect(call.getByTestId('agent-call-args')).toContainText(JSON.stringify(command));
  const allowed = Date.now();
  await call.getByTestId('agent-allow').click();
  await expect(call).toHaveAttribute('data-state', state, { timeout: BOOT_WAIT_MS });
  return Date.now() - allowed;
}

test('the agent runs a shell command in the tab\'s machine once the user allows it', async ({ page }) => {
  test.setTimeout(BOOT_WAIT_MS + 120_000);
  await openDesktop(page, ai.kernel.baseUrl);
  ai.provider.script([
    { text: 'Let me ask the machine.', calls: [{ name: 'shell', arguments: { command: COMMAND } }] },
    { calls: [{ name: 'shell', arguments: { command: 'echo again' } }] },
    { text: 'It says 42, on i686.' },
  ]);
  const before = ai.provider.seen.length;
  const win = await startRun(page, 'What is 6*7, and what machine is this?');

  // Nothing runs before the user allows it: the card shows the whole command and waits.
  const first = card(win, 0);
  const coldMs = await allow(first, COMMAND, 'ok');
  const result = first.getByTestId('agent-call-result');
  await expect(result).toHaveAttribute('data-ok', 'true');
  await expect(result).toContainText('42');
  await expect(result).toContainText('i686');

  // The machine stays: the next command runs in it at once.
  const warmMs = await allow(card(win, 1), 'echo again', 'ok');
  await expect(card(win, 1).getByTestId('agent-call-result')).toContainText('again');
  await expect(win.getByTestId('agent')).toHaveAttribute('data-state', 'done');
  await expect(win.getByTestId('agent-summary')).toContainText('It says 42, on i686.');

  // The model heard each command's output and status.
  const [answer, again] = toolResults(before);
  expect(answer).toMatchObject({ status: 0, output: '42\ni686\n', truncated: false });
  expect(again).toMatchObject({ status: 0, output: 'again\n' });
  expect(again.pid).toBe(answer.pid);
  console.log(`FIGURE agent shell: allowed → result, machine booted for it (cold): ${coldMs} ms`);
  console.log(`FIGURE agent shell: allowed → result of \`echo again\` in the running machine: ${warmMs} ms`);
  console.log(`FIGURE agent shell: vm.exec round trip of \`echo again\` in the kernel (duration_ms): ${again.duration_ms} ms`);
});

test('a command past its timeout fails with its limit named', async ({ page }) => {
  test.setTimeout(BOOT_WAIT_MS + 120_000);
  await openDesktop(page, ai.kernel.baseUrl);
  ai.provider.script([
    { calls: [{ name: 'shell', arguments: { command: 'sleep 60; echo never', timeout_ms: 3000 } }] },
    { text: 'The command took too long.' },
  ]);
  const before = ai.provider.seen.length;
  const win = await startRun(page, 'Wait a minute.');
  const call = card(win, 0);
  await allow(call, 'sleep 60; echo never', 'failed');
  const result = call.getByTestId('agent-call-result');
  await expect(result).toHaveAttribute('data-ok', 'false');
  await expect(result).toContainText('3000 ms');
  await expect(win.getByTestId('agent')).toHaveAttribute('data-state', 'done');
  const [failure] = toolResults(before);
  expect(JSON.stringify(failure)).toContain('timeout');
  expect(JSON.stringify(failure)).not.toContain('never');
});

test('with a Terminal running, the command runs in the Terminal\'s machine beside what the user types', async ({ page }) => {
  test.setTimeout(BOOT_WAIT_MS + 120_000);
  await openDesktop(page, ai.kernel.baseUrl);
  await dockItem(page, 'terminal').click();
  const term = windows(page, 'terminal');
  await expect(term.getByTestId('terminal-status')).toHaveAttribute('data-state', 'running', { timeout: BOOT_WAIT_MS });
  const screen = term.locator('.xterm-rows');
  await expect(screen).toContainText(PROMPT, { timeout: 30_000 });
  // The user leaves a mark in the machine (typed until the shell answers: keys typed while it
  // is still starting can be lost, as on any Linux console).
  await expect(async () => {
    await term.getByTestId('terminal-screen').click();
    await page.keyboard.type('echo terminal-$((40+2)) > /tmp/mark; cat /tmp/mark');
    await page.keyboard.press('Enter');
    await expect(screen).toContainText('terminal-42', { timeout: 5_000 });
  }).toPass({ timeout: 60_000 });

  ai.provider.script([
    { calls: [{ name: 'shell', arguments: { command: 'cat /tmp/mark; echo agent-$((6*7))' } }] },
    { text: 'The Terminal left its mark.' },
  ]);
  const before = ai.provider.seen.length;
  const win = await startRun(page, 'What did I leave in /tmp/mark?');
  await allow(card(win, 0), 'cat /tmp/mark; echo agent-$((6*7))', 'ok');
  await expect(card(win, 0).getByTestId('agent-call-result')).toContainText('terminal-42');
  const [mark] = toolResults(before);
  expect(mark).toMatchObject({ status: 0, output: 'terminal-42\nagent-42\n' });

  // The user's line is as it was: nothing of the agent's command shows there, and it still answers.
  await expect(screen).not.toContainText('agent-');
  // The Agent's window covers it: a press on the Terminal's window brings it to the front.
  await term.dispatchEvent('pointerdown');
  await term.getByTestId('terminal-screen').click();
  await page.keyboard.type('echo still-$((50+5))');
  await page.keyboard.press('Enter');
  await expect(screen).toContainText('still-55');
});
