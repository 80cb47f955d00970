// The Agent app against a kernel pointed at the loopback provider in its scripted mode (tool calls
// streamed as `delta.tool_calls` fragments): in one page, as a person uses it, the agent reads a
// broken WAT program of the welcome folder, proposes the fix as a diff, writes it and runs it once
// the user allows, finishes with its summary; Undo run puts the broken bytes back, and a touched
// file opens in the Editor from the transcript. A denied call goes back to the model and the run
// goes on; the file in front of the Editor is offered (and sent) as context.
import type { Locator, Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { windows } from './support/desktop';
import { aiKernel } from './support/ai-provider';
import { editorTab, modelText, openFromFiles } from './support/editor';

const PATH = '/welcome/hello.wat';
const GREETING = 'Hello from Aether!';

const ai = aiKernel();

/** The text of a file of this tab's VFS, as stored (through the devtools hook). */
async function vfsText(page: Page, path: string): Promise<string> {
  return await page.evaluate(async (p) => {
    const vfs = (window as any).aether.vfs;
    await vfs.ready();
    return new TextDecoder().decode(await vfs.readBytes(p));
  }, path);
}

async function vfsWrite(page: Page, path: string, text: string): Promise<void> {
  await page.evaluate(async ([p, t]) => {
    const vfs = (window as any).aether.vfs;
    await vfs.ready();
    await vfs.write(p, t);
  }, [path, text]);
}

/** Opens the Agent from the dock. */
async function openAgent(page: Page): Promise<Locator> {
  await page.getByTestId('dock-agent').click();
  const win = windows(page, 'agent');
  await expect(win.getByTestId('agent')).toBeVisible();
  return win;
}

/** The card of the run's call of `tool` (the `nth` one). */
const card = (win: Locator, tool: string, nth = 0) =>
  win.locator(`[data-testid=agent-call][data-tool=${tool}]`).nth(nth);

test('the agent fixes a broken program with the user allowing its write and run; Undo run puts the broken bytes back', async ({ page }) => {
  await openDesktop(page, ai.kernel.baseUrl);
  const fixed = await vfsText(page, PATH);
  expect(fixed).toContain(GREETING);
  // Break the welcome program: a misspelled instruction no longer compiles.
  const broken = fixed.replace('(i32.store (i32.const 0)', '(i32.stor (i32.const 0)');
  expect(broken).not.toBe(fixed);
  await vfsWrite(page, PATH, broken);

  const summary = 'Fixed: `i32.stor` was a typo for `i32.store`; the program prints its greeting again.';
  ai.provider.script([
    { text: 'Let me look at the program.', calls: [{ name: 'read_file', arguments: { path: PATH } }] },
    { text: 'The instruction is misspelled; here is the fix.', calls: [{ name: 'write_file', arguments: { path: PATH, content: fixed } }] },
    { calls: [{ name: 'run_program', arguments: { path: PATH } }] },
    { text: summary },
  ]);
  const before = ai.provider.seen.length;
  const win = await openAgent(page);
  await win.getByTestId('agent-goal').fill(`Fix ${PATH} so that it runs.`);
  await win.getByTestId('agent-start').click();

  // The read is allowed by the default policy: it runs at once, its result folded under it.
  const read = card(win, 'read_file');
  await expect(read).toHaveAttribute('data-state', 'ok');
  await expect(read.getByTestId('agent-call-args')).toContainText(`"path": "${PATH}"`);
  await expect(read.getByTestId('agent-call-result')).toHaveAttribute('data-ok', 'true');
  await expect(win.getByTestId('agent-text').first()).toContainText('Let me look at the program.');

  // The write waits for the user, with its full arguments and the change as a diff.
  const write = card(win, 'write_file');
  await expect(write).toHaveAttribute('data-state', 'waiting');
  await expect(win.getByTestId('agent')).toHaveAttribute('data-waiting', 'true');
  await expect(write.getByTestId('agent-call-args')).toContainText('i32.store (i32.const 0)');
  const diff = write.getByTestId('agent-diff');
  await expect(diff).toHaveAttribute('data-path', PATH);
  await expect(diff.locator('[data-kind=removed]')).toHaveText([/i32\.stor \(i32\.const 0\)/]);
  await expect(diff.locator('[data-kind=added]')).toHaveText([/i32\.store \(i32\.const 0\)/]);
  expect(await vfsText(page, PATH)).toBe(broken);
  await write.getByTestId('agent-allow').click();
  await expect(write).toHaveAttribute('data-state', 'ok');
  await expect(write.getByTestId('agent-allow')).toBeDisabled();
  await expect(write.getByTestId('agent-deny')).toBeDisabled();
  expect(await vfsText(page, PATH)).toBe(fixed);

  // The run asks too; once allowed, its result shows the fixed program's output.
  const run = card(win, 'run_program');
  await expect(run).toHaveAttribute('data-state', 'waiting');
  await run.getByTestId('agent-allow').click();
  await expect(run).toHaveAttribute('data-state', 'ok');
  await expect(run.getByTestId('agent-call-result')).toContainText(GREETING);

  // The run ends with its summary; the meter shows what it used.
  await expect(win.getByTestId('agent')).toHaveAttribute('data-state', 'done');
  await expect(win.getByTestId('agent-summary')).toContainText(summary);
  await expect(win.getByTestId('agent-meter-calls')).toHaveAttribute('data-used', '3');
  await expect(win.getByTestId('agent-meter-turns')).toHaveAttribute('data-used', '4');
  expect(Number(await win.getByTestId('agent-meter-tokens').getAttribute('data-used'))).toBeGreaterThan(0);
  expect(ai.provider.turnsLeft).toBe(0);
  // The model heard the program's output as the result of its last call.
  const asked = ai.provider.seen.slice(before);
  expect(asked.length).toBe(4);
  const lastResult = asked[3].messages.filter((m) => m.role === 'tool').at(-1)?.content ?? '';
  expect(lastResult).toContain(GREETING);

  // The file the run touched is listed; Undo run puts the broken bytes back.
  await expect(win.getByTestId('agent-touched').getByTestId('agent-open-path')).toHaveAttribute('data-path', PATH);
  await win.getByTestId('agent-undo').click();
  await expect(win.getByTestId('agent-restored').getByTestId('agent-open-path')).toHaveAttribute('data-path', PATH);
  await expect.poll(() => vfsText(page, PATH)).toBe(broken);
  await expect(win.getByTestId('agent-undo')).toBeDisabled();

  // The history lists the run; a click shows it as the kernel recorded it.
  const past = win.locator('[data-testid=agent-history-run]').first();
  await expect(past).toHaveAttribute('data-state', 'done');
  await past.click();
  await expect(win.getByTestId('agent-back-live')).toBeVisible();
  await expect(card(win, 'write_file')).toHaveAttribute('data-state', 'ok');
  await expect(card(win, 'write_file').getByTestId('agent-allow')).toBeDisabled();
  await win.getByTestId('agent-back-live').click();
  await expect(win.getByTestId('agent-back-live')).toHaveCount(0);

  // The touched file opens in the Editor from the transcript, as Undo left it.
  await card(win, 'write_file').getByTestId('agent-diff').getByTestId('agent-open-path').click();
  await expect(editorTab(page, PATH)).toHaveAttribute('data-active', 'true');
  await expect.poll(() => modelText(page, PATH)).toBe(broken);
});

test('a denied call goes back to the model and the run goes on; the Editor\'s file is sent as context', async ({ page }) => {
  const path = '/welcome/README.md';
  await openFromFiles(page, path, ai.kernel.baseUrl);
  ai.provider.script([
    { text: 'I will add a note.', calls: [{ name: 'write_file', arguments: { path: '/notes.txt', content: 'a note\n' } }] },
    { text: 'You declined the note, so I left your files as they were.' },
  ]);
  const before = ai.provider.seen.length;
  const win = await openAgent(page);
  await expect(win.getByTestId('agent-context-file')).toHaveAttribute('data-path', path);
  await expect(win.getByTestId('agent-context-file')).toBeChecked();
  await win.getByTestId('agent-goal').fill('Leave a note.');
  await win.getByTestId('agent-budget').locator('summary').click();
  await win.getByTestId('agent-budget-turns').fill('5');
  await win.getByTestId('agent-start').click();

  const write = card(win, 'write_file');
  await expect(write).toHaveAttribute('data-state', 'waiting');
  await expect(write.getByTestId('agent-diff').locator('[data-kind=added]')).toHaveText(['+a note']);
  await write.getByTestId('agent-deny').click();
  await expect(write).toHaveAttribute('data-state', 'failed');
  await expect(write.getByTestId('agent-call-result')).toHaveAttribute('data-ok', 'false');
  await expect(win.getByTestId('agent')).toHaveAttribute('data-state', 'done');
  await expect(win.getByTestId('agent-summary')).toContainText('You declined the note');
  await expect(win.getByTestId('agent-meter-turns')).toHaveAttribute('data-limit', '5');
  await expect(win.getByTestId('agent-meter-turns')).toHaveAttribute('data-used', '2');

  // The model saw the file in front and, on its next turn, that the user declined.
  const asked = ai.provider.seen.slice(before);
  expect(asked.length).toBe(2);
  expect(JSON.stringify(asked[0].messages)).toContain(path);
  const declined = asked[1].messages.filter((m) => m.role === 'tool').map((m) => m.content ?? '');
  expect(declined.join('\n')).toContain('declined');
  const notes = await page.evaluate(() =>
    (window as any).aether.vfs.stat('/notes.txt').then(
      () => 'exists',
      (e: { code: string }) => e.code,
    ),
  );
  expect(notes).toBe('not_found');
});

test('Stop ends a run waiting for approval with cancelled, shown in the transcript', async ({ page }) => {
  await openDesktop(page, ai.kernel.baseUrl);
  ai.provider.script([{ calls: [{ name: 'run_program', arguments: { wat: '(module (func (export "_start")))' } }] }]);
  const win = await openAgent(page);
  await win.getByTestId('agent-goal').fill('Run a module.');
  await win.getByTestId('agent-start').click();
  await expect(card(win, 'run_program')).toHaveAttribute('data-state', 'waiting');
  await win.getByTestId('agent-stop').click();
  await expect(win.getByTestId('agent')).toHaveAttribute('data-state', 'cancelled');
  await expect(win.locator('[data-testid=agent-error][data-code=cancelled]')).toBeVisible();
  await expect(card(win, 'run_program').getByTestId('agent-allow')).toBeDisabled();
  await expect(win.getByTestId('agent-start')).toBeEnabled();
});
