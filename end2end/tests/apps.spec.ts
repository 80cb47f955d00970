// Every app in one page, opened from the dock in the orders people use, then each one used
// while all the others stay open. The Terminal once hung when the Editor had been opened first
// (Monaco's AMD loader caught xterm.js's UMD build), and no one-app spec could see it.
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { dockItem, windows } from './support/desktop';
import { editorTab, editorWindow, typeAtEnd } from './support/editor';
import type { Locator, Page } from '@playwright/test';

const BOOT_WAIT_MS = 240_000;
const PROMPT = 'root@aether:';

const ORDERS: string[][] = [
  // Editor before Terminal: the order that broke the Terminal.
  ['files', 'editor', 'terminal', 'console', 'tasks', 'notes', 'about'],
  ['terminal', 'tasks', 'console', 'notes', 'about', 'editor', 'files'],
];

/** Opens `app` from the dock (focuses it when it is already open); returns its window. */
async function open(page: Page, app: string): Promise<Locator> {
  await dockItem(page, app).click();
  const win = windows(page, app);
  await expect(win.first()).toBeVisible();
  return win.first();
}

/** Brings `app`'s window to the front from the dock (as a person does when windows overlap). */
async function front(page: Page, app: string): Promise<Locator> {
  await dockItem(page, app).click();
  const win = windows(page, app).first();
  await expect(win).toHaveClass(/focused/);
  return win;
}

async function useFiles(page: Page): Promise<void> {
  const files = await front(page, 'files');
  await files.locator('[data-testid=vfs-tree-entry][data-path="/welcome"]').click();
  await expect(files.locator('[data-testid=vfs-entry][data-path="/welcome/README.md"]')).toBeVisible();
}

async function useEditor(page: Page): Promise<void> {
  // A file opened from Files lands in the Editor, typeable.
  const files = await front(page, 'files');
  await files.locator('[data-testid=vfs-tree-entry][data-path="/welcome"]').click();
  await files.locator('[data-testid=vfs-entry][data-path="/welcome/README.md"]').click();
  await files.getByTestId('files-edit').click();
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-active', 'true');
  await expect(editorWindow(page).getByTestId('editor')).toHaveAttribute('data-ready', 'true');
  await front(page, 'editor');
  await typeAtEnd(page, '\nTyped with every app open.');
  await expect(editorTab(page, '/welcome/README.md')).toHaveAttribute('data-dirty', 'true');
}

async function useTerminal(page: Page): Promise<void> {
  const win = windows(page, 'terminal').first();
  await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'running', { timeout: BOOT_WAIT_MS });
  const screen = win.locator('.xterm-rows');
  await expect(screen).toContainText(PROMPT, { timeout: 30_000 });
  await front(page, 'terminal');
  // Keys typed while the guest's shell starts can be lost: probe until it answers.
  for (let probe = 1; ; probe++) {
    await win.getByTestId('terminal-screen').click();
    await page.keyboard.type(`echo apps-$((4000+${probe}))`);
    await page.keyboard.press('Enter');
    try {
      await expect(screen).toContainText(`apps-${4000 + probe}`, { timeout: 5_000 });
      return;
    } catch (e) {
      if (probe >= 10) throw e;
    }
  }
}

async function useConsole(page: Page): Promise<void> {
  const win = await front(page, 'console');
  await win.getByTestId('console-run').click();
  await expect(win.getByTestId('console-output')).toHaveText('Hello from WAT!\n');
}

async function useTasks(page: Page): Promise<void> {
  const win = await front(page, 'tasks');
  for (const id of ['check', 'hello', 'echo']) {
    await expect(win.locator(`[data-testid=task-node][data-node="${id}"]`)).toBeVisible();
  }
  await win.getByTestId('tasks-run').click();
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'succeeded');
}

async function useNotes(page: Page): Promise<void> {
  const win = await front(page, 'notes');
  await win.getByTestId('notes-text').fill('all seven apps open');
  await expect(win.getByTestId('notes-text')).toHaveValue('all seven apps open');
}

async function useAbout(page: Page): Promise<void> {
  const win = await front(page, 'about');
  await expect(page.getByTestId('about-ping')).toHaveText(/ms$/);
}

const USE: Record<string, (page: Page) => Promise<void>> = {
  files: useFiles,
  editor: useEditor,
  terminal: useTerminal,
  console: useConsole,
  tasks: useTasks,
  notes: useNotes,
  about: useAbout,
};

for (const order of ORDERS) {
  test(`every app opens and works in one page: ${order.join(' → ')}`, async ({ page }) => {
    test.slow();
    test.setTimeout(BOOT_WAIT_MS + 120_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openDesktop(page);
    // The welcome files (the Tasks sample, the Editor's file) are in place first.
    await page.waitForFunction(() => (window.aether as any).vfs !== undefined);
    await page.evaluate(() => (window.aether as any).vfs.ready());
    for (const app of order) {
      await open(page, app);
      // Give each app its start before the next opens over it, as a person would.
      if (app === 'editor') {
        await expect(editorWindow(page).getByTestId('editor')).toHaveAttribute('data-ready', 'true');
      }
    }
    for (const app of order) {
      await expect(windows(page, app)).not.toHaveCount(0);
    }
    for (const app of order) {
      await USE[app](page);
    }
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });
}
