// Outside agents over MCP, as a person connects one: with the Editor and the Terminal open in the
// same page, the user opens the Agent, presses "Connect an agent", picks tools, a lifetime and how
// calls are approved, and copies the URL and token the panel shows once. A real outside client,
// the MCP Inspector's command line from npm (a child process speaking Streamable HTTP to the
// kernel's /mcp), then lists the tools and calls them on the live tab: a read returns the file's
// real text and shows in the panel's activity; a revoked grant's token is refused with 401; with
// "Ask me for each call", a write waits until the user allows it on a card with the diff, a denied
// one tells the outside agent that the user declined, and Undo writes puts the file back. With the
// Agent window closed (or minimized), a call that asks brings the Agent forward by itself, its card
// already there, and a toast says which tool asks.
import type { Locator, Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { dockItem, windows } from './support/desktop';
import { editorTab, modelText, openFromFiles, readFile } from './support/editor';
import { Kernel } from './support/kernel';
import { callTool, failure, inspect, listTools, toolText, type Grant } from './support/mcp-inspector';

const README = '/welcome/README.md';
const HELLO = '/welcome/hello.wat';
const READ_ONLY = ['list_files', 'read_file', 'search_files'];

let kernel: Kernel;

test.beforeAll(async () => {
  kernel = await Kernel.start();
});

test.afterAll(async () => {
  await kernel?.kill();
});

/** The desktop with a file open in the Editor and the Terminal booting, then the Agent; returns the Agent window. */
async function openLikeAPerson(page: Page): Promise<Locator> {
  await openFromFiles(page, README, kernel.baseUrl);
  await dockItem(page, 'terminal').click();
  await expect(windows(page, 'terminal').getByTestId('terminal-status')).toBeVisible();
  await dockItem(page, 'agent').click();
  const win = windows(page, 'agent');
  await expect(win.getByTestId('agent')).toBeVisible();
  return win;
}

/** The tool check boxes of the panel. */
const toolBox = (win: Locator, tool: string) => win.locator(`[data-testid=mcp-tool][data-tool=${tool}]`);

/** Opens the panel, sets the form as asked, presses Connect; returns the grant as the page shows it, once. */
async function connect(
  win: Locator,
  form: { approval: 'ask' | 'allow'; ttl: '15m' | '1h' | '8h'; alsoTick?: string[] },
): Promise<Grant & { grantId: string }> {
  await win.getByTestId('agent-connect').click();
  await expect(win.getByTestId('mcp-panel')).toBeVisible();
  for (const tool of form.alsoTick ?? []) await toolBox(win, tool).check();
  await win.getByTestId(`mcp-approval-${form.approval}`).check();
  await win.getByTestId(`mcp-ttl-${form.ttl}`).check();
  await win.getByTestId('mcp-connect').click();
  const secret = win.getByTestId('mcp-secret');
  await expect(secret).toBeVisible();
  await expect(secret).toContainText("it won't be shown again");
  const url = (await win.getByTestId('mcp-url').textContent())!.trim();
  const token = (await win.getByTestId('mcp-token').textContent())!.trim();
  const grantId = (await secret.getAttribute('data-grant-id'))!;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  expect(token).toMatch(/^[0-9a-f]{64}$/);
  return { url, token, grantId };
}

/** The grant's row in the panel. */
const grantRow = (win: Locator, grantId: string) => win.locator(`[data-testid=mcp-grant][data-grant-id="${grantId}"]`);

/** Resolves to the run, and says meanwhile whether it has ended. */
function watch<T>(promise: Promise<T>): { done: () => boolean; result: Promise<T> } {
  let ended = false;
  const result = promise.finally(() => (ended = true));
  return { done: () => ended, result };
}

test('an outside agent granted read-only tools with Allow calls lists them and reads the live tab\'s file; the call shows in the panel', async ({ page, context }) => {
  const win = await openLikeAPerson(page);
  await win.getByTestId('agent-connect').click();
  // The form: the read-only tools ticked, the others not; "Ask me for each call" and 1 hour by default.
  for (const tool of READ_ONLY) await expect(toolBox(win, tool)).toBeChecked();
  for (const tool of ['write_file', 'run_program', 'run_task']) await expect(toolBox(win, tool)).not.toBeChecked();
  await expect(win.getByTestId('mcp-approval-ask')).toBeChecked();
  await expect(win.getByTestId('mcp-ttl-1h')).toBeChecked();
  await expect(win.getByTestId('mcp-grant')).toHaveCount(0);
  await win.getByTestId('mcp-panel-close').click();
  await expect(win.getByTestId('agent-transcript')).toBeVisible();

  const grant = await connect(win, { approval: 'allow', ttl: '15m' });
  // The set-up lines carry the URL and the token, ready to paste.
  await expect(win.getByTestId('mcp-setup-claude')).toHaveText(
    `claude mcp add --transport http aether ${grant.url} --header "Authorization: Bearer ${grant.token}"`,
  );
  const config = JSON.parse((await win.getByTestId('mcp-setup-json').textContent())!);
  expect(config).toEqual({ mcpServers: { aether: { url: grant.url, headers: { Authorization: `Bearer ${grant.token}` } } } });
  // Copy puts the command on the clipboard.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: kernel.baseUrl });
  await win.getByTestId('mcp-copy-claude').click();
  await expect(win.getByTestId('mcp-copy-claude')).toHaveAttribute('data-copied', 'copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(`Bearer ${grant.token}`);

  // The grant is listed: its tools, live, calls allowed, about 15 minutes left.
  const row = grantRow(win, grant.grantId);
  await expect(row).toHaveAttribute('data-state', 'live');
  await expect(row).toHaveAttribute('data-approval', 'allow');
  await expect(row.getByTestId('mcp-grant-tools').locator('code')).toHaveText(READ_ONLY);
  await expect(row.getByTestId('mcp-grant-left')).toHaveText(/^1[45] min \d\d s$/);
  await expect(win.getByTestId('agent-connect-count')).toHaveText('1 live');

  // The outside client sees exactly the granted tools.
  expect((await listTools(grant)).sort()).toEqual(READ_ONLY);

  // Its read returns the file as the live tab holds it.
  const text = await readFile(page, README);
  expect(text).toContain('# Welcome to Aether');
  const read = toolText(await callTool(grant, 'read_file', { path: README }));
  expect(read.isError).toBe(false);
  expect(JSON.parse(read.text).content).toBe(text);

  // The panel shows the call and counts it.
  const called = win.locator('[data-testid=mcp-called][data-tool=read_file]');
  await expect(called).toHaveCount(1);
  await expect(called).toHaveAttribute('data-ok', 'true');
  await expect(called).toHaveAttribute('data-grant-id', grant.grantId);
  await expect(called).toContainText(`path=${README}`);
  await expect(row.getByTestId('mcp-grant-calls')).toHaveAttribute('data-calls', '1');

  // A tool it was not granted is not even offered: the client refuses to call it.
  const write = failure(await callTool(grant, 'write_file', { path: README, content: 'overwritten' }));
  expect(write.code).toBe('tool_not_found');
  expect(await readFile(page, README)).toBe(text);

  // "Done" forgets the token: it is not on the page any more.
  await win.getByTestId('mcp-secret-done').click();
  await expect(win.getByTestId('mcp-secret')).toHaveCount(0);
  await expect(win.getByTestId('mcp-form')).toBeVisible();
  expect(await page.content()).not.toContain(grant.token);
});

test('a revoked grant\'s token is refused with 401', async ({ page }) => {
  const win = await openLikeAPerson(page);
  const grant = await connect(win, { approval: 'allow', ttl: '1h' });
  const args = ['--method', 'tools/call', '--tool-name', 'list_files', '--tool-arg', 'path=/welcome'];
  const before = toolText(await inspect(grant, args));
  expect(before.isError).toBe(false);
  expect(before.text).toContain('README.md');

  const row = grantRow(win, grant.grantId);
  await row.getByTestId('mcp-revoke').click();
  await expect(row).toHaveAttribute('data-state', 'revoked');
  await expect(row.getByTestId('mcp-revoke')).toBeDisabled();
  // The token shown for it goes with it.
  await expect(win.getByTestId('mcp-secret')).toHaveCount(0);
  await expect(win.getByTestId('agent-connect-count')).toHaveCount(0);

  // The client is told to authenticate (the kernel answered 401 with its sentence)…
  const after = failure(await inspect(grant, args));
  expect(after.code).toBe('auth_required');
  expect(after.message).toContain('the token of a live grant');
  // …and so is any HTTP request with that token.
  const raw = await fetch(grant.url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${grant.token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  expect(raw.status).toBe(401);
  expect(raw.headers.get('www-authenticate')).toBe('Bearer');
});

test('with "Ask me for each call" a write waits for the user: Allow writes it, Deny tells the agent it was declined, Undo writes puts the file back', async ({ page }) => {
  const win = await openLikeAPerson(page);
  const original = await readFile(page, HELLO);
  expect(original).toContain('Hello from Aether!');
  const changed = original.replace('Hello from Aether!', 'Hello from Claude!');
  const grant = await connect(win, { approval: 'ask', ttl: '1h', alsoTick: ['write_file'] });
  await expect(grantRow(win, grant.grantId)).toHaveAttribute('data-approval', 'ask');
  // The panel closed, the card still comes.
  await win.getByTestId('mcp-secret-done').click();
  await win.getByTestId('mcp-panel-close').click();

  const allowed = watch(callTool(grant, 'write_file', { path: HELLO, content: changed }));
  const card = win.locator(`[data-testid=mcp-ask][data-tool=write_file][data-grant-id="${grant.grantId}"]`);
  await expect(card).toHaveAttribute('data-state', 'waiting', { timeout: 30_000 });
  await expect(win.getByTestId('agent')).toHaveAttribute('data-asks', '1');
  await expect(card).toContainText(`via ${grant.grantId}`);
  await expect(card.getByTestId('agent-call-args')).toContainText(`"path": "${HELLO}"`);
  const diff = card.getByTestId('agent-diff');
  await expect(diff).toHaveAttribute('data-path', HELLO);
  await expect(diff.locator('[data-kind=removed]')).toHaveText([/Hello from Aether!/]);
  await expect(diff.locator('[data-kind=added]')).toHaveText([/Hello from Claude!/]);
  // The outside call hangs until the user decides; nothing is written yet.
  expect(allowed.done()).toBe(false);
  expect(await readFile(page, HELLO)).toBe(original);

  await card.getByTestId('agent-allow').click();
  await expect(card).toHaveCount(0);
  const wrote = toolText(await allowed.result);
  expect(wrote.isError).toBe(false);
  expect(await readFile(page, HELLO)).toBe(changed);

  // The grant lists the file it wrote; it opens in the Editor with the new text.
  await win.getByTestId('agent-connect').click();
  const row = grantRow(win, grant.grantId);
  await expect(row.getByTestId('mcp-grant-calls')).toHaveAttribute('data-calls', '1');
  const written = row.getByTestId('mcp-grant-written').getByTestId('agent-open-path');
  await expect(written).toHaveAttribute('data-path', HELLO);
  await written.click();
  await expect(editorTab(page, HELLO)).toHaveAttribute('data-active', 'true');
  await expect.poll(() => modelText(page, HELLO)).toBe(changed);

  // A second write, denied: the outside agent hears that the user declined; the file stays.
  await dockItem(page, 'agent').click();
  const denied = watch(callTool(grant, 'write_file', { path: HELLO, content: 'nothing left' }));
  const second = win.locator('[data-testid=mcp-ask][data-tool=write_file]');
  await expect(second).toHaveAttribute('data-state', 'waiting', { timeout: 30_000 });
  expect(denied.done()).toBe(false);
  await second.getByTestId('agent-deny').click();
  await expect(second).toHaveCount(0);
  const refused = toolText(await denied.result);
  expect(refused.isError).toBe(true);
  expect(refused.text).toContain('declined');
  expect(await readFile(page, HELLO)).toBe(changed);

  // The activity lists both, newest first.
  const calls = win.locator('[data-testid=mcp-called][data-tool=write_file]');
  await expect(calls).toHaveCount(2);
  await expect(calls.nth(0)).toHaveAttribute('data-ok', 'false');
  await expect(calls.nth(1)).toHaveAttribute('data-ok', 'true');

  // Undo writes puts the welcome program back as it was.
  await row.getByTestId('mcp-undo').click();
  const restored = win.locator(`[data-testid=mcp-restored][data-grant-id="${grant.grantId}"]`);
  await expect(restored.getByTestId('agent-open-path')).toHaveAttribute('data-path', HELLO);
  await expect.poll(() => readFile(page, HELLO)).toBe(original);
});

test('"Allow this tool for this grant" lets the later calls of that tool run without asking', async ({ page }) => {
  const win = await openLikeAPerson(page);
  const grant = await connect(win, { approval: 'ask', ttl: '15m' });
  await win.getByTestId('mcp-secret-done').click();

  const first = watch(callTool(grant, 'read_file', { path: README }));
  const card = win.locator('[data-testid=mcp-ask][data-tool=read_file]');
  await expect(card).toHaveAttribute('data-state', 'waiting', { timeout: 30_000 });
  // The panel stays open: the card shows above it.
  await expect(win.getByTestId('mcp-panel')).toBeVisible();
  await expect(card.getByTestId('agent-call-args')).toContainText(README);
  await expect(card.getByTestId('agent-diff')).toHaveCount(0);
  expect(first.done()).toBe(false);
  await card.getByTestId('agent-allow-tool').click();
  await expect(card).toHaveCount(0);
  expect(toolText(await first.result).isError).toBe(false);

  // The next read runs at once: no card, and it returns.
  const again = toolText(await callTool(grant, 'read_file', { path: README }));
  expect(again.isError).toBe(false);
  expect(JSON.parse(again.text).content).toContain('# Welcome to Aether');
  await expect(win.getByTestId('mcp-ask')).toHaveCount(0);
  await expect(win.locator('[data-testid=mcp-called][data-tool=read_file][data-ok=true]')).toHaveCount(2);
  await expect(grantRow(win, grant.grantId).getByTestId('mcp-grant-calls')).toHaveAttribute('data-calls', '2');
});

test('with the Agent window closed, a call that asks opens the Agent by itself with its card; minimized, it is brought back', async ({ page }) => {
  // At work in the Editor and Files; the Agent only to make the grant, then closed.
  await openFromFiles(page, README, kernel.baseUrl);
  await expect(windows(page, 'files')).toHaveCount(1);
  await dockItem(page, 'agent').click();
  const made = windows(page, 'agent');
  const grant = await connect(made, { approval: 'ask', ttl: '15m', alsoTick: ['write_file'] });
  await made.getByTestId('mcp-secret-done').click();
  await made.locator('.window-close').click();
  await expect(windows(page, 'agent')).toHaveCount(0);
  await editorTab(page, README).click();

  const path = '/welcome/from-outside.txt';
  const content = 'Written by an outside agent while the Agent was closed.';
  const allowed = watch(callTool(grant, 'write_file', { path, content }));
  // The Agent opens in front, by itself, with the waiting call as a card: the ask came before
  // the window listened, so the card was read from the grants.
  const win = windows(page, 'agent');
  await expect(win).toHaveCount(1, { timeout: 30_000 });
  await expect(win).toHaveClass(/focused/);
  const card = win.locator(`[data-testid=mcp-ask][data-tool=write_file][data-grant-id="${grant.grantId}"]`);
  await expect(card).toHaveAttribute('data-state', 'waiting');
  await expect(card).toHaveCount(1);
  await expect(card.getByTestId('agent-diff')).toHaveAttribute('data-path', path);
  await expect(card.getByTestId('agent-diff').locator('[data-kind=added]')).toContainText(content);
  // A toast says why it opened.
  const toast = page.getByTestId('toasts').locator('.toast[data-kind=notice][data-topic="mcp.ask"]');
  await expect(toast).toContainText('An outside agent asks to run `write_file`');
  await expect(toast).toContainText('see Agent');
  // The other windows are still there, behind it.
  await expect(windows(page, 'editor')).toHaveCount(1);
  await expect(windows(page, 'files')).toHaveCount(1);
  expect(allowed.done()).toBe(false);

  await card.getByTestId('agent-allow').click();
  await expect(card).toHaveCount(0);
  const wrote = toolText(await allowed.result);
  expect(wrote.isError).toBe(false);
  expect(await readFile(page, path)).toBe(content);

  // Minimized, the Agent window is brought back for the next call rather than another opened.
  await win.locator('.window-minimize').click();
  await expect(win).toHaveAttribute('data-state', 'minimized');
  const denied = watch(callTool(grant, 'write_file', { path, content: 'not this' }));
  await expect(win).toHaveAttribute('data-state', 'normal', { timeout: 30_000 });
  await expect(win).toHaveClass(/focused/);
  await expect(windows(page, 'agent')).toHaveCount(1);
  const second = win.locator('[data-testid=mcp-ask][data-tool=write_file]');
  await expect(second).toHaveAttribute('data-state', 'waiting');
  expect(denied.done()).toBe(false);
  await second.getByTestId('agent-deny').click();
  await expect(second).toHaveCount(0);
  expect(toolText(await denied.result).isError).toBe(true);
  expect(await readFile(page, path)).toBe(content);
});

