// Helpers for the Editor specs: open a file in the Editor, read and type into Monaco, look at markers.
// Monaco's own API (`window.monaco`) is read from the test side only, to check what the editor holds.
import { expect, type Locator, type Page } from '@playwright/test';
import { openDesktop } from './aether';
import { windows } from './desktop';

/** The Editor window. */
export const editorWindow = (page: Page) => windows(page, 'editor');

/** The tab of `path` in the Editor. */
export const editorTab = (page: Page, path: string) =>
  editorWindow(page).locator(`[data-testid=editor-tab][data-path="${path}"]`);

/** Writes a text file into this tab's VFS (through the devtools hook). */
export async function writeFile(page: Page, path: string, text: string): Promise<void> {
  await page.waitForFunction(() => (window as any).aether?.vfs !== undefined);
  await page.evaluate(() => (window as any).aether.vfs.ready());
  await page.evaluate(([p, t]) => (window as any).aether.vfs.write(p, t), [path, text]);
}

/** Reads a text file of this tab's VFS. */
export async function readFile(page: Page, path: string): Promise<string> {
  return await page.evaluate(async (p) => (await (window as any).aether.vfs.read(p)).content, path);
}

/** Opens the desktop (optionally at `url`), then `path` through the Files app's Edit button. */
export async function openFromFiles(page: Page, path: string, url = '/'): Promise<Locator> {
  await openDesktop(page, url);
  await page.getByTestId('dock-files').click();
  const files = windows(page, 'files');
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  if (dir !== '/') {
    await files.locator(`[data-testid=vfs-tree-entry][data-path="${dir}"]`).click();
  }
  await files.locator(`[data-testid=vfs-entry][data-path="${path}"]`).click();
  await files.getByTestId('files-edit').click();
  await expect(editorTab(page, path)).toHaveAttribute('data-active', 'true');
  return editorWindow(page);
}

/** The text of `path`'s Monaco model. */
export async function modelText(page: Page, path: string): Promise<string | null> {
  return await page.evaluate((p) => {
    const model = (window as any).monaco?.editor
      .getModels()
      .find((m: any) => decodeURIComponent(m.uri.path) === p);
    return model ? model.getValue() : null;
  }, path);
}

/** The error markers on `path`'s model: `{line, message}`. */
export async function markers(page: Page, path: string): Promise<{ line: number; message: string }[]> {
  return await page.evaluate((p) => {
    const monaco = (window as any).monaco;
    return monaco.editor
      .getModelMarkers({})
      .filter((m: any) => decodeURIComponent(m.resource.path) === p && m.severity === monaco.MarkerSeverity.Error)
      .map((m: any) => ({ line: m.startLineNumber, message: m.message }));
  }, path);
}

/** Puts the cursor at the end of the editor's text and types `text`. */
export async function typeAtEnd(page: Page, text: string): Promise<void> {
  await editorWindow(page).locator('.monaco-editor .view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}
