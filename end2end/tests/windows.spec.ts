// The desktop shell as a person uses it: moving, resizing, stacking, minimizing and maximizing
// windows, the keyboard shortcuts, and the layout coming back after a reload.
import { test, expect } from './support/fixtures';
import { busState, openDesktop } from './support/aether';
import {
  boxOf,
  dockItem,
  dragEdge,
  dragTitleBar,
  expectInsideWorkArea,
  openAnother,
  windowById,
  windows,
  zIndex,
  DOCK_PX,
  TOP_BAR_PX,
} from './support/desktop';

test('dragging the title bar moves the window, and never out of the work area', async ({ page }) => {
  await openDesktop(page);
  const about = windows(page, 'about');
  const start = await boxOf(about);

  await dragTitleBar(page, about, 150, 90);
  const moved = await boxOf(about);
  expect(moved.x - start.x).toBeCloseTo(150, 0);
  expect(moved.y - start.y).toBeCloseTo(90, 0);
  expect([moved.width, moved.height]).toEqual([start.width, start.height]);

  await dragTitleBar(page, about, -5_000, -5_000);
  const corner = await boxOf(about);
  expect([corner.x, corner.y]).toEqual([0, TOP_BAR_PX]);
});

test('resizing from a corner and an edge changes the size, down to the app minimum', async ({ page }) => {
  await openDesktop(page);
  const about = windows(page, 'about');
  const start = await boxOf(about);

  await dragEdge(page, about, 'se', 80, 60);
  const bigger = await boxOf(about);
  expect(bigger.width - start.width).toBeCloseTo(80, 0);
  expect(bigger.height - start.height).toBeCloseTo(60, 0);
  expect([bigger.x, bigger.y]).toEqual([start.x, start.y]);

  // Pulling the west edge far to the right stops at About's minimum width (280), right edge fixed.
  await dragEdge(page, about, 'w', 2_000, 0);
  const narrow = await boxOf(about);
  expect(narrow.width).toBeCloseTo(280, 0);
  expect(narrow.x + narrow.width).toBeCloseTo(bigger.x + bigger.width, 0);

  // Every one of the eight handles is there.
  await expect(about.locator('.window-resize')).toHaveCount(8);
});

test('a smaller browser window pulls every window back inside', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openDesktop(page);
  const notes = await openAnother(page, 'notes');
  await dragTitleBar(page, notes, 5_000, 5_000);
  const far = await boxOf(notes);
  expect(far.x + far.width).toBeCloseTo(1280, 0);

  await page.setViewportSize({ width: 640, height: 480 });
  for (const win of await windows(page).all()) {
    await expect
      .poll(async () => {
        const box = await boxOf(win);
        return box.x + box.width;
      })
      .toBeLessThanOrEqual(640);
    expectInsideWorkArea(await boxOf(win), 640, 480);
  }
});

test('clicking a window raises it above the others and focuses it', async ({ page }) => {
  await openDesktop(page);
  const about = windows(page, 'about');
  const notes = await openAnother(page, 'notes');
  expect(await zIndex(notes)).toBeGreaterThan(await zIndex(about));
  await expect(notes).toHaveClass(/focused/);

  // Click the corner of About that Notes does not cover.
  await about.locator('.window-titlebar').click({ position: { x: 12, y: 12 } });
  expect(await zIndex(about)).toBeGreaterThan(await zIndex(notes));
  await expect(about).toHaveClass(/focused/);
  await expect(notes).not.toHaveClass(/focused/);
});

test('minimizing to the dock and restoring keeps the typed text in the same editor', async ({ page }) => {
  await openDesktop(page);
  const notes = await openAnother(page, 'notes');
  const text = notes.getByTestId('notes-text');
  await text.click();
  await page.keyboard.type('Still here after the dock.');
  // Mark the element: the same one must come back, not a new one with restored text.
  await text.evaluate((el) => ((el as HTMLElement & { __mark?: string }).__mark = 'original'));

  await notes.locator('.window-minimize').click();
  await expect(notes).toBeHidden();
  await expect(notes).toHaveAttribute('data-state', 'minimized');
  await expect(dockItem(page, 'notes')).toHaveAttribute('data-minimized', '1');

  await dockItem(page, 'notes').click();
  await expect(notes).toBeVisible();
  await expect(text).toHaveValue('Still here after the dock.');
  expect(await text.evaluate((el) => (el as HTMLElement & { __mark?: string }).__mark)).toBe('original');
  await expect(dockItem(page, 'notes')).toHaveAttribute('data-minimized', '0');
});

test('maximize fills the work area, and restore (double-click) puts the window back', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openDesktop(page);
  const about = windows(page, 'about');
  const normal = await boxOf(about);

  await about.locator('.window-maximize').click();
  await expect(about).toHaveAttribute('data-state', 'maximized');
  expect(await boxOf(about)).toEqual({ x: 0, y: TOP_BAR_PX, width: 1280, height: 800 - TOP_BAR_PX - DOCK_PX });

  await about.locator('.window-title').dblclick();
  await expect(about).toHaveAttribute('data-state', 'normal');
  expect(await boxOf(about)).toEqual(normal);
});

test('shortcuts drive the windows, and plain keys typed in an editor stay in the editor', async ({ page }) => {
  await openDesktop(page);
  const about = windows(page, 'about');
  const notes = await openAnother(page, 'notes');
  const text = notes.getByTestId('notes-text');
  await text.click();

  // `?` is text here, not help.
  await page.keyboard.type('why? ');
  await expect(text).toHaveValue('why? ');
  await expect(page.getByTestId('help')).toHaveCount(0);

  // Alt+J switches to the other window, Alt+Up maximizes it, Alt+M minimizes it.
  await page.keyboard.press('Alt+KeyJ');
  await expect(about).toHaveClass(/focused/);
  await page.keyboard.press('Alt+ArrowUp');
  await expect(about).toHaveAttribute('data-state', 'maximized');
  await page.keyboard.press('Alt+KeyM');
  await expect(about).toBeHidden();
  await expect(notes).toHaveClass(/focused/);

  // The launcher: Ctrl+K, filter, Enter opens a new Notes window.
  await page.keyboard.press('Control+KeyK');
  const input = page.getByTestId('launcher-input');
  await expect(input).toBeFocused();
  await input.fill('not');
  await expect(page.getByTestId('launcher-item-notes')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('launcher-item-about')).toHaveCount(0);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('launcher')).toHaveCount(0);
  await expect(windows(page, 'notes')).toHaveCount(2);

  // Alt+W closes the front window (the new one).
  await page.keyboard.press('Alt+KeyW');
  await expect(windows(page, 'notes')).toHaveCount(1);

  // Help: F1 opens it, Escape closes it; `?` opens it when focus is not in a text field.
  await page.keyboard.press('F1');
  await expect(page.getByTestId('help')).toBeVisible();
  await expect(page.getByTestId('help')).toContainText('Alt+W');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help')).toHaveCount(0);
  await page.locator('.top-bar-brand').click();
  await page.keyboard.press('?');
  await expect(page.getByTestId('help')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help')).toHaveCount(0);
});

test('the dock is keyboard reachable and shows running and minimized windows', async ({ page }) => {
  await openDesktop(page);
  const notesItem = dockItem(page, 'notes');
  await expect(notesItem).toHaveAttribute('data-windows', '0');
  await notesItem.focus();
  await page.keyboard.press('Enter');
  await expect(windows(page, 'notes')).toHaveCount(1);
  await expect(notesItem).toHaveAttribute('data-windows', '1');
  await expect(notesItem).toHaveClass(/running/);
  // A single-instance app is focused, not duplicated.
  await dockItem(page, 'about').click({ modifiers: ['Shift'] });
  await expect(windows(page, 'about')).toHaveCount(1);
  await expect(windows(page, 'about')).toHaveClass(/focused/);
});

test('a reload brings back every window: place, size, order, state and notes', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openDesktop(page);
  const about = windows(page, 'about');
  const first = await openAnother(page, 'notes');
  const second = await openAnother(page, 'notes');
  await first.getByTestId('notes-text').fill('first note');
  await dragTitleBar(page, first, 300, 120);
  await dragEdge(page, first, 'se', 60, 40);
  await about.locator('.window-minimize').click();
  await second.locator('.window-maximize').click();
  // The maximized window covers the first one: switch to it with the keyboard.
  await page.keyboard.press('Alt+KeyJ');
  await expect(first).toHaveClass(/focused/);

  const describe = async () =>
    page.$$eval('section.window', (els) =>
      els
        .map((el) => ({
          app: el.getAttribute('data-app'),
          id: el.getAttribute('data-window-id'),
          state: el.getAttribute('data-state'),
          style: `${(el as HTMLElement).style.left} ${(el as HTMLElement).style.top} ${(el as HTMLElement).style.width} ${(el as HTMLElement).style.height}`,
          z: Number((el as HTMLElement).style.zIndex),
          focused: el.classList.contains('focused'),
        }))
        .sort((a, b) => a.z - b.z),
    );
  const before = await describe();
  expect(before.map((w) => w.state)).toEqual(['minimized', 'maximized', 'normal']);
  const firstId = (await first.getAttribute('data-window-id'))!;

  await page.reload();
  await expect(busState(page)).toHaveAttribute('data-state', 'connected');
  expect(await describe()).toEqual(before);
  await expect(windowById(page, firstId).getByTestId('notes-text')).toHaveValue('first note');
});

test('a saved layout that no longer fits the screen is clamped, not lost', async ({ page }) => {
  await page.setViewportSize({ width: 700, height: 500 });
  await openDesktop(page);
  await page.evaluate(() =>
    localStorage.setItem(
      'aether.layout',
      JSON.stringify({
        version: 1,
        windows: [
          { id: 1, app: 'notes', rect: { x: 3000, y: 2000, width: 900, height: 700 } },
          { id: 2, app: 'about', rect: { x: -800, y: -300, width: 380, height: 320 } },
          { id: 3, app: 'no-such-app', rect: { x: 0, y: 0, width: 300, height: 300 } },
        ],
      }),
    ),
  );
  await page.reload();
  await expect(busState(page)).toHaveAttribute('data-state', 'connected');
  await expect(windows(page)).toHaveCount(2);
  for (const win of await windows(page).all()) {
    expectInsideWorkArea(await boxOf(win), 700, 500);
  }
});
