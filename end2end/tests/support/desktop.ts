// The desktop shell as the specs see it: windows, the dock, pointer gestures. DOM contract in
// desktop/src/shell/mod.rs.
import { expect, type Locator, type Page } from '@playwright/test';

/** A window's box on screen. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Must match shell/geometry.rs: TOP_BAR_PX and DOCK_PX. */
export const TOP_BAR_PX = 32;
export const DOCK_PX = 72;

/** Every window of `app` (or all windows), in DOM (opening) order. */
export const windows = (page: Page, app?: string) =>
  page.locator(app ? `section.window[data-app="${app}"]` : 'section.window');

/** The window with id `id`. */
export const windowById = (page: Page, id: string) => page.locator(`section.window[data-window-id="${id}"]`);

/** The dock launcher of `app`. */
export const dockItem = (page: Page, app: string) => page.getByTestId(`dock-${app}`);

/** The box of `locator`, which must be visible. */
export async function boxOf(locator: Locator): Promise<Box> {
  const box = await locator.boundingBox();
  expect(box, 'the element has a box on screen').not.toBeNull();
  return box!;
}

/** The CSS z-index of a window. */
export async function zIndex(locator: Locator): Promise<number> {
  return Number(await locator.evaluate((el) => getComputedStyle(el).zIndex));
}

/** Presses at (x, y), moves by (dx, dy) in a few steps, releases. */
export async function dragBy(page: Page, x: number, y: number, dx: number, dy: number): Promise<void> {
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 4 });
  await page.mouse.move(x + dx, y + dy, { steps: 4 });
  await page.mouse.up();
}

/** Drags window `win` by its title bar (left part, away from the buttons). */
export async function dragTitleBar(page: Page, win: Locator, dx: number, dy: number): Promise<void> {
  const bar = await boxOf(win.locator('.window-titlebar'));
  await dragBy(page, bar.x + 60, bar.y + bar.height / 2, dx, dy);
}

/**
 * Brings window `win` to the front, as a press anywhere on it does (sent to the window itself:
 * another window may cover all of it).
 */
export async function raise(win: Locator): Promise<void> {
  await win.dispatchEvent('pointerdown');
}

/** Drags the resize handle `edge` (`n`, `se`, …) of window `win`. */
export async function dragEdge(page: Page, win: Locator, edge: string, dx: number, dy: number): Promise<void> {
  const handle = await boxOf(win.locator(`.window-resize[data-edge="${edge}"]`));
  await dragBy(page, handle.x + handle.width / 2, handle.y + handle.height / 2, dx, dy);
}

/** Opens one more window of a multi-instance app (Shift+click on its dock item); returns it. */
export async function openAnother(page: Page, app: string): Promise<Locator> {
  const before = await windows(page, app).count();
  await dockItem(page, app).click({ modifiers: ['Shift'] });
  await expect(windows(page, app)).toHaveCount(before + 1);
  return windows(page, app).nth(before);
}

/** Asserts that `box` lies inside the work area of a `width`×`height` viewport. */
export function expectInsideWorkArea(box: Box, width: number, height: number): void {
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.y).toBeGreaterThanOrEqual(TOP_BAR_PX);
  expect(box.x + box.width).toBeLessThanOrEqual(width + 0.5);
  expect(box.y + box.height).toBeLessThanOrEqual(height - DOCK_PX + 0.5);
}
