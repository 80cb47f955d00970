// The AI panel against a kernel pointed at a loopback OpenAI-compatible provider (the one fake
// peer: an AI endpoint cannot run here): answers stream in, "Fix this" sends the run's stderr and
// shows a diff that is applied only on Accept, inline completion shows ghost text, and a kernel
// without a provider says how to configure one. The last test prints the first-chunk latency.
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { Kernel } from './support/kernel';
import { CHAT_REPLY, COMPLETION, FakeProvider, aiEnv } from './support/ai-provider';
import { editorTab, editorWindow, modelText, openFromFiles, typeAtEnd, writeFile } from './support/editor';

const BAD_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    i32.bogus))`;

const FIXED_WAT = `(module
  (memory (export "memory") 1)
  (func (export "_start")))`;

let provider: FakeProvider;
let kernel: Kernel;

test.beforeAll(async () => {
  provider = await FakeProvider.start(FIXED_WAT);
  kernel = await Kernel.start(undefined, aiEnv(provider));
});

test.afterAll(async () => {
  await kernel?.kill();
  await provider?.stop();
});

test('without a provider the AI panel says how to configure one', async ({ page }) => {
  const win = await openFromFiles(page, '/welcome/README.md');
  await win.getByTestId('ai-input').fill('What is this?');
  await win.getByTestId('ai-send').click();
  const error = win.getByTestId('ai-error');
  await expect(error).toHaveAttribute('data-code', 'not_configured');
  await expect(error).toContainText('ai.provider.base_url');
});

test('a failed inline completion shows no toast, a failed chat does', async ({ page }) => {
  await openDesktop(page);
  await writeFile(page, '/quiet.wat', '(module\n  ');
  const win = await openFromFiles(page, '/quiet.wat');
  await page.evaluate(() => {
    window.__got = [];
    window.aether.on('ai.error', (env) => window.__got.push(env));
  });
  await typeAtEnd(page, ' ');
  // The completion the page asked for on its own fails (no provider), silently.
  await expect.poll(() => page.evaluate(() => window.__got.length), { timeout: 15_000 }).toBeGreaterThan(0);
  expect(await page.evaluate(() => window.__got[0].payload?.code)).toBe('not_configured');
  const toasts = page.getByTestId('toasts').locator('.toast');
  await expect(toasts).toHaveCount(0);

  await win.getByTestId('ai-input').fill('Hello?');
  await win.getByTestId('ai-send').click();
  await expect(win.getByTestId('ai-error')).toHaveAttribute('data-code', 'not_configured');
  await expect(toasts).toHaveCount(1);
  await expect(toasts).toHaveAttribute('data-topic', 'ai.error');
  await expect(toasts).toHaveAttribute('data-code', 'not_configured');
});

test('the AI panel streams an answer that saw the file in front', async ({ page }) => {
  const win = await openFromFiles(page, '/welcome/hello.wat', kernel.baseUrl);
  const before = provider.seen.length;
  await win.getByTestId('ai-input').fill('What does this do?');
  await win.getByTestId('ai-input').press('Enter');
  const answer = win.locator('[data-testid=ai-message][data-role=assistant]').last();
  await expect(answer).toHaveText(CHAT_REPLY);
  await expect(win.getByTestId('ai-panel')).toHaveAttribute('data-streaming', 'false');
  const asked = provider.seen[before].messages;
  expect(asked[asked.length - 1].content).toContain('/welcome/hello.wat');
  expect(asked[asked.length - 1].content).toContain('What does this do?');
});

test('Explain selection sends the selected text', async ({ page }) => {
  const win = await openFromFiles(page, '/welcome/hello.wat', kernel.baseUrl);
  await win.locator('.monaco-editor .view-lines').click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('Shift+End');
  const before = provider.seen.length;
  await win.getByTestId('ai-explain').click();
  await expect(win.locator('[data-testid=ai-message][data-role=user]').last()).toHaveText('Explain selection');
  await expect(win.locator('[data-testid=ai-message][data-role=assistant]').last()).toHaveText(CHAT_REPLY);
  const asked = provider.seen[before].messages;
  const firstLine = (await modelText(page, '/welcome/hello.wat'))!.split('\n')[0];
  expect(asked[asked.length - 1].content).toContain(`Explain what this part does:\n\`\`\`\n${firstLine}\n\`\`\``);
});

test('Fix this sends the run error and shows a diff that is applied only on Accept', async ({ page }) => {
  await openDesktop(page, kernel.baseUrl);
  await writeFile(page, '/bad.wat', BAD_WAT);
  await page.getByTestId('dock-editor').click();
  const win = editorWindow(page);
  await expect(win.getByTestId('editor')).toHaveAttribute('data-ready', 'true');
  await win.getByTestId('editor-open').click();
  await page.keyboard.type('bad.wat');
  await page.keyboard.press('Enter');
  await expect(editorTab(page, '/bad.wat')).toHaveAttribute('data-active', 'true');
  await win.getByTestId('editor-run').click();
  await expect(win.getByTestId('editor-output')).toHaveAttribute('data-state', 'error');

  const before = provider.seen.length;
  await win.getByTestId('ai-fix').click();
  const diff = win.getByTestId('ai-diff');
  await expect(diff).toHaveAttribute('data-path', '/bad.wat');
  const asked = provider.seen[before].messages;
  expect(asked[asked.length - 1].content).toContain('bogus');
  // Nothing is applied before Accept.
  expect(await modelText(page, '/bad.wat')).toBe(BAD_WAT);
  await expect(editorTab(page, '/bad.wat')).toHaveAttribute('data-dirty', 'false');

  await diff.getByTestId('ai-accept').click();
  await expect(diff).toHaveCount(0);
  await expect.poll(() => modelText(page, '/bad.wat')).toBe(FIXED_WAT);
  await expect(editorTab(page, '/bad.wat')).toHaveAttribute('data-dirty', 'true');
  await win.getByTestId('editor-run').click();
  await expect(win.getByTestId('editor-output')).toHaveAttribute('data-state', 'exited');
});

test('a rejected proposal leaves the file as it was', async ({ page }) => {
  await openDesktop(page, kernel.baseUrl);
  await writeFile(page, '/bad.wat', BAD_WAT);
  const win = await openFromFiles(page, '/bad.wat', kernel.baseUrl);
  await win.getByTestId('ai-fix').click();
  await win.getByTestId('ai-diff').getByTestId('ai-reject').click();
  await expect(win.getByTestId('ai-diff')).toHaveCount(0);
  expect(await modelText(page, '/bad.wat')).toBe(BAD_WAT);
});

test('inline completion shows ghost text from ai.complete and Tab accepts it', async ({ page }) => {
  await openDesktop(page, kernel.baseUrl);
  await writeFile(page, '/c.wat', '(module\n  (func (result i32)\n    ');
  const win = await openFromFiles(page, '/c.wat', kernel.baseUrl);
  const before = provider.seen.length;
  await typeAtEnd(page, ' ');
  await expect(win.locator('.ghost-text, .ghost-text-decoration').first()).toBeVisible();
  await page.keyboard.press('Tab');
  await expect.poll(() => modelText(page, '/c.wat')).toContain(COMPLETION);
  const asked = provider.seen.slice(before).find((s) => s.messages[0].content.includes('code completion'));
  expect(asked?.messages[1].content).toContain('<CURSOR>');
});

test('prints the first ai.chunk latency over the loopback provider (median of 5)', async ({ page }) => {
  await openDesktop(page, kernel.baseUrl);
  const latencies = await page.evaluate(async () => {
    const aether = (window as any).aether;
    const out: number[] = [];
    for (let i = 0; i < 5; i++) {
      let first = 0;
      const handle = aether.subscribe('ai.chunk', () => {
        if (!first) first = performance.now();
      });
      const started = performance.now();
      await aether.request('ai.chat', { messages: [{ role: 'user', content: 'hi' }] });
      while (!first) await new Promise((r) => setTimeout(r, 1));
      out.push(first - started);
      aether.unsubscribe(handle);
      await new Promise((r) => setTimeout(r, 300));
    }
    return out;
  });
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `FIGURE first ai.chunk after ai.chat over the loopback provider (median of 5): ${sorted[2].toFixed(1)} ms (all: ${latencies.map((l) => l.toFixed(1)).join(', ')} ms)`,
  );
  expect(latencies).toHaveLength(5);
});
