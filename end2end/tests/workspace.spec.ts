// The workspace around the apps (issue 21): the command palette (Ctrl+Shift+P, or > in the
// launcher) and what its commands do, the light and dark themes (system default, toggled,
// remembered), and the Settings app (the Editor's font size, followed live and remembered).
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { dockItem, windows } from './support/desktop';
import { editorTab, editorWindow } from './support/editor';
import { aiKernel } from './support/ai-provider';
import type { Page } from '@playwright/test';

/** Opens the palette with its shortcut, types `query` after the `>`, and checks what is first. */
async function palette(page: Page, query: string, first: string): Promise<void> {
  await page.keyboard.press('Control+Shift+KeyP');
  const launcher = page.getByTestId('launcher');
  await expect(launcher).toHaveAttribute('data-mode', 'commands');
  await page.getByTestId('launcher-input').fill(`>${query}`);
  await expect(page.getByTestId(`launcher-command-${first}`)).toHaveAttribute('aria-selected', 'true');
}

/** Runs the first command matching `query` (which must be `id`) from the palette. */
async function runCommand(page: Page, query: string, id: string): Promise<void> {
  await palette(page, query, id);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('launcher')).toHaveCount(0);
}

const theme = (page: Page) => page.locator('html');
const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
const monacoRoot = (page: Page) => editorWindow(page).locator('.monaco-editor').first();
const monacoFontSize = (page: Page) =>
  editorWindow(page)
    .locator('.monaco-editor .view-lines')
    .first()
    .evaluate((el) => getComputedStyle(el).fontSize);

test.describe('the command palette', () => {
  test('lists the apps\' and the shell\'s commands with their keys, fuzzy-filtered, from Ctrl+Shift+P or >', async ({ page }) => {
    await openDesktop(page);
    await palette(page, 'new file', 'editor.new-file');
    await expect(page.getByTestId('launcher-command-editor.new-file')).toContainText('Editor: New file');
    // Letters in order, not together: "tgth" finds Toggle theme, which shows its shortcut.
    await page.getByTestId('launcher-input').fill('>tgth');
    const toggle = page.getByTestId('launcher-command-shell.toggle-theme');
    await expect(toggle).toHaveAttribute('aria-selected', 'true');
    await expect(toggle).toHaveAttribute('data-keys', 'Alt+Shift+T');
    await expect(toggle).toHaveAttribute('aria-keyshortcuts', 'Alt+Shift+T');
    await page.getByTestId('launcher-input').fill('>run current');
    await expect(page.getByTestId('launcher-command-editor.run')).toHaveAttribute('data-keys', 'Ctrl+Enter');
    await page.getByTestId('launcher-input').fill('>zzzz');
    await expect(page.getByTestId('launcher')).toContainText('No command matches.');
    // The launcher is the same overlay: without `>` it lists apps, with `>` commands.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+KeyK');
    await expect(page.getByTestId('launcher')).toHaveAttribute('data-mode', 'apps');
    await page.getByTestId('launcher-input').fill('>open term');
    await expect(page.getByTestId('launcher-command-open.terminal')).toHaveAttribute('aria-selected', 'true');
  });

  test('New file creates a file in this tab\'s files and opens it in the Editor', async ({ page }) => {
    await openDesktop(page);
    await runCommand(page, 'new file', 'editor.new-file');
    await expect(editorTab(page, '/untitled.txt')).toHaveAttribute('data-active', 'true');
    const stat = await page.evaluate(() => (window as any).aether.vfs.stat('/untitled.txt'));
    expect(stat.kind).toBe('file');
    // Again: the name is taken, so the next one is numbered; both are there.
    await runCommand(page, 'new file', 'editor.new-file');
    await expect(editorTab(page, '/untitled 2.txt')).toHaveAttribute('data-active', 'true');
    await expect(editorWindow(page).getByTestId('editor-tab')).toHaveCount(2);
  });

  test('Export files downloads the zip from Files, and Connect an agent opens the Agent\'s panel', async ({ page }) => {
    await openDesktop(page);
    const download = page.waitForEvent('download');
    await runCommand(page, 'export files', 'files.export');
    expect((await download).suggestedFilename()).toMatch(/\.zip$/);
    await expect(windows(page, 'files')).toHaveCount(1);
    await runCommand(page, 'connect agent', 'agent.connect');
    await expect(windows(page, 'agent').getByTestId('mcp-panel')).toBeVisible();
  });
});

test.describe('themes', () => {
  test.describe('with a dark system theme', () => {
    test.use({ colorScheme: 'dark' });

    test('Toggle theme switches the page and Monaco, and the choice survives a reload', async ({ page }) => {
      await openDesktop(page);
      await expect(theme(page)).toHaveAttribute('data-theme', 'dark');
      await expect(page.locator('meta[name=color-scheme]')).toHaveAttribute('content', 'dark');
      // Monaco draws an editor (and its theme's class) once a file is open in it.
      await runCommand(page, 'new file', 'editor.new-file');
      await expect(editorTab(page, '/untitled.txt')).toHaveAttribute('data-active', 'true');
      await expect(monacoRoot(page)).toHaveClass(/\bvs-dark\b/);
      const dark = await background(page);

      await runCommand(page, 'toggle theme', 'shell.toggle-theme');
      await expect(theme(page)).toHaveAttribute('data-theme', 'light');
      await expect(page.locator('meta[name=color-scheme]')).toHaveAttribute('content', 'light');
      await expect.poll(() => background(page)).not.toBe(dark);
      await expect(monacoRoot(page)).toHaveClass(/\bvs\b/);
      await expect(monacoRoot(page)).not.toHaveClass(/vs-dark/);
      const light = await background(page);

      // Remembered for this browser, over the system's dark.
      await page.reload();
      await expect(theme(page)).toHaveAttribute('data-theme', 'light');
      expect(await background(page)).toBe(light);
      await expect(editorTab(page, '/untitled.txt')).toHaveAttribute('data-active', 'true');
      await expect(monacoRoot(page)).toHaveClass(/\bvs\b/);
      await expect(monacoRoot(page)).not.toHaveClass(/vs-dark/);

      // The shortcut switches back.
      await page.keyboard.press('Alt+Shift+KeyT');
      await expect(theme(page)).toHaveAttribute('data-theme', 'dark');
      await expect(monacoRoot(page)).toHaveClass(/\bvs-dark\b/);
      expect(await background(page)).toBe(dark);
    });
  });

  test.describe('with a dark system theme, in the Terminal', () => {
    test.use({ colorScheme: 'dark' });

    test('xterm.js takes the theme\'s terminal colours, and again when the theme changes', async ({ page }) => {
      await openDesktop(page);
      await runCommand(page, 'open terminal', 'open.terminal');
      const screen = windows(page, 'terminal').getByTestId('terminal-screen');
      // xterm.js paints its own background (from `terminal.options.theme`); the screen's frame
      // is painted from the same --terminal-bg variable by the stylesheet.
      const painted = screen.locator('.xterm-scrollable-element').first();
      const colours = () =>
        Promise.all([
          painted.evaluate((el) => getComputedStyle(el).backgroundColor),
          screen.evaluate((el) => getComputedStyle(el).backgroundColor),
        ]);
      await expect(painted).toBeAttached({ timeout: 30_000 });
      const [darkTerm, darkFrame] = await colours();
      expect(darkTerm).toBe(darkFrame);
      // xterm.js keeps the keys typed into it (Alt+letter is ESC+letter to the guest): switch
      // with focus outside it.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.keyboard.press('Alt+Shift+KeyT');
      await expect(theme(page)).toHaveAttribute('data-theme', 'light');
      await expect.poll(async () => (await colours())[0]).not.toBe(darkTerm);
      const [lightTerm, lightFrame] = await colours();
      expect(lightTerm).toBe(lightFrame);
    });
  });

  test.describe('with a light system theme', () => {
    test.use({ colorScheme: 'light' });

    test('the default follows prefers-color-scheme, live, until a theme is chosen', async ({ page }) => {
      await openDesktop(page);
      await expect(theme(page)).toHaveAttribute('data-theme', 'light');
      const light = await background(page);
      await page.emulateMedia({ colorScheme: 'dark' });
      await expect(theme(page)).toHaveAttribute('data-theme', 'dark');
      await expect.poll(() => background(page)).not.toBe(light);
      await page.emulateMedia({ colorScheme: 'light' });
      await expect(theme(page)).toHaveAttribute('data-theme', 'light');
      // Chosen in Settings: the system no longer decides.
      await dockItem(page, 'settings').click();
      await windows(page, 'settings').getByTestId('settings-theme-dark').check();
      await expect(theme(page)).toHaveAttribute('data-theme', 'dark');
      await page.emulateMedia({ colorScheme: 'light' });
      await expect(theme(page)).toHaveAttribute('data-theme', 'dark');
      await windows(page, 'settings').getByTestId('settings-theme-system').check();
      await expect(theme(page)).toHaveAttribute('data-theme', 'light');
    });
  });
});

test('Settings changes the Editor\'s font size live, and it survives a reload', async ({ page }) => {
  await openDesktop(page);
  await runCommand(page, 'new file', 'editor.new-file');
  await expect(editorTab(page, '/untitled.txt')).toHaveAttribute('data-active', 'true');
  await expect.poll(() => monacoFontSize(page)).toBe('13px');

  await runCommand(page, 'open settings', 'open.settings');
  const settings = windows(page, 'settings');
  const size = settings.getByTestId('settings-font-size');
  await size.fill('20');
  await size.press('Tab');
  await expect(settings.getByTestId('settings-font-size-value')).toHaveText('20 px');
  await expect.poll(() => monacoFontSize(page)).toBe('20px');

  // Out of range is held within bounds.
  await size.fill('400');
  await size.press('Tab');
  await expect(settings.getByTestId('settings-font-size-value')).toHaveText('32 px');
  await size.fill('20');
  await size.press('Tab');

  await page.reload();
  await expect(editorTab(page, '/untitled.txt')).toHaveAttribute('data-active', 'true');
  await expect.poll(() => monacoFontSize(page)).toBe('20px');
  await expect(windows(page, 'settings').getByTestId('settings-font-size')).toHaveValue('20');
});

test.describe('Settings and the AI', () => {
  const ai = aiKernel();

  test('the model of Settings is asked for, and "ask before every read" makes the agent wait for each read', async ({ page }) => {
    const path = '/welcome/hello.wat';
    await openDesktop(page, ai.kernel.baseUrl);
    await dockItem(page, 'settings').click();
    const settings = windows(page, 'settings');
    await settings.getByTestId('settings-model').fill('my-model');
    await settings.getByTestId('settings-model').press('Tab');
    await settings.getByTestId('settings-reads-ask').check();

    const read = { calls: [{ name: 'read_file', arguments: { path } }] };
    ai.provider.script([read, { text: 'Read it.' }]);
    const before = ai.provider.seen.length;
    await dockItem(page, 'agent').click();
    const agent = windows(page, 'agent');
    await agent.getByTestId('agent-goal').fill(`Read ${path}.`);
    await agent.getByTestId('agent-start').click();
    const card = agent.locator('[data-testid=agent-call][data-tool=read_file]').first();
    // The kernel's policy reads freely; this browser asked to be asked.
    await expect(card).toHaveAttribute('data-state', 'waiting');
    await card.getByTestId('agent-allow').click();
    await expect(card).toHaveAttribute('data-state', 'ok');
    await expect(agent.getByTestId('agent')).toHaveAttribute('data-state', 'done');
    const asked = ai.provider.seen.slice(before);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((r) => r.model === 'my-model')).toBe(true);

    // Back to the policy's way (Settings brought forward from the dock, the Agent again after):
    // the next run reads at once.
    await dockItem(page, 'settings').click();
    await settings.getByTestId('settings-reads-allow').check();
    await dockItem(page, 'agent').click();
    ai.provider.script([read, { text: 'Read it again.' }]);
    const transcript = agent.getByTestId('agent-transcript');
    const first = (await transcript.getAttribute('data-run-id')) ?? '';
    await agent.getByTestId('agent-goal').fill(`Read ${path} again.`);
    await agent.getByTestId('agent-start').click();
    await expect(transcript).not.toHaveAttribute('data-run-id', first);
    await expect(agent.getByTestId('agent')).toHaveAttribute('data-state', 'done');
    const again = agent.locator('[data-testid=agent-call][data-tool=read_file]').first();
    await expect(again).toHaveAttribute('data-state', 'ok');
    await expect(again.getByTestId('agent-allow')).toHaveCount(0);
  });
});
