// The desktop as a whole: how soon it is usable, how big its code is, and the README's picture.
//
// The figures are printed, never asserted (tests never assert on time). The picture is written to
// docs/desktop.png only when AETHER_SCREENSHOT=1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { boxOf, dragTitleBar, openAnother, windows } from './support/desktop';

/** Page loads measured for the interactive-desktop figure. */
const RUNS = 5;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

test('figures: time to an interactive desktop and the size of the desktop code', async ({ browser, baseURL }) => {
  const interactive: number[] = [];
  const connected: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // A fresh context each time: nothing cached, like a first visit.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.addInitScript(() => {
      const marks = ((window as unknown as { __marks: Record<string, number> }).__marks = {});
      new MutationObserver(() => {
        if (marks.window === undefined && document.querySelector('section.window .window-titlebar')) {
          marks.window = performance.now();
        }
        if (marks.connected === undefined && document.querySelector('[data-testid=bus-state][data-state=connected]')) {
          marks.connected = performance.now();
        }
      }).observe(document, { childList: true, subtree: true, attributes: true });
    });
    await page.goto(baseURL!);
    const win = windows(page).first();
    await expect(page.locator('[data-testid=bus-state][data-state=connected]')).toBeVisible();
    // Interactive means it really moves: drag it.
    const before = await boxOf(win);
    await dragTitleBar(page, win, 40, 30);
    const after = await boxOf(win);
    expect([after.x - before.x, after.y - before.y]).toEqual([40, 30]);
    const marks = await page.evaluate(() => (window as unknown as { __marks: Record<string, number> }).__marks);
    interactive.push(marks.window);
    connected.push(marks.connected);
    await context.close();
  }
  const fmt = (values: number[]) => `median ${median(values).toFixed(0)} ms (runs: ${values.map((v) => v.toFixed(0)).join(', ')})`;
  console.log(`navigation → first window draggable: ${fmt(interactive)}`);
  console.log(`navigation → bus connected:          ${fmt(connected)}`);

  const dist = path.resolve(__dirname, '..', '..', 'target', 'dist');
  for (const name of fs.readdirSync(dist).filter((n) => /\.(wasm|js)$/.test(n))) {
    const bytes = fs.readFileSync(path.join(dist, name));
    const brotli = zlib.brotliCompressSync(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY },
    });
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    console.log(`${name.endsWith('.wasm') ? 'wasm' : 'js  '} ${kb(bytes.length)} raw, ${kb(brotli.length)} brotli (${name})`);
  }
});

test('the README picture: a desktop with three windows', async ({ page }) => {
  test.skip(process.env.AETHER_SCREENSHOT !== '1', 'set AETHER_SCREENSHOT=1 to write docs/desktop.png');
  await page.setViewportSize({ width: 1280, height: 800 });
  await openDesktop(page);
  await expect(page.getByTestId('about-ping')).toHaveText(/ms$/);
  const about = windows(page, 'about');
  await dragTitleBar(page, about, -24, 8);

  const plan = await openAnother(page, 'notes');
  await plan.getByTestId('notes-text').fill(
    [
      'Aether — a desktop in the browser',
      '',
      '• drag a title bar, resize from any edge',
      '• double-click a title to maximize',
      '• Alt+J switches windows, Alt+M minimizes',
      '• Ctrl+K opens the launcher, ? shows help',
      '',
      'Minimize me: this text stays.',
    ].join('\n'),
  );
  await dragTitleBar(page, plan, 420, -40);

  const todo = await openAnother(page, 'notes');
  await todo.getByTestId('notes-text').fill('todo\n\n[x] windows, dock, shortcuts\n[x] toasts for bus errors\n[ ] more apps');
  await dragTitleBar(page, todo, 250, 200);
  await todo.getByTestId('notes-text').click();

  const file = path.resolve(__dirname, '..', '..', 'docs', 'desktop.png');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
});
