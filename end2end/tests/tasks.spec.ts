// The Tasks app as a person uses it: run the welcome pipeline (three nodes, a program reading
// another's output), watch node states change live, cancel a run that never ends, load a
// definition from the VFS, and find past runs in the history after a reload. DOM contract in
// desktop/src/apps/tasks/mod.rs, graph.rs, details.rs and history.rs.
import type { Locator, Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { boxOf, windows, type Box } from './support/desktop';

/** Opens the desktop once this tab's VFS holds the welcome folder, then a Tasks window. */
async function openTasks(page: Page): Promise<Locator> {
  await openDesktop(page);
  await expect
    .poll(() =>
      page.evaluate(async () => {
        const vfs = (window.aether as unknown as {
          vfs?: { ready(): Promise<boolean>; list(p: string): Promise<{ entries: { name: string }[] }> };
        }).vfs;
        if (!vfs) return [];
        try {
          await vfs.ready();
          return (await vfs.list('/welcome')).entries.map((e) => e.name);
        } catch {
          return [];
        }
      }),
    )
    .toEqual(expect.arrayContaining(['pipeline.task.yaml', 'hello.wat', 'echo.wasm']));
  await page.locator('button.dock-item[data-app=tasks]').click();
  const win = windows(page, 'tasks');
  await expect(win).toHaveCount(1);
  return win;
}

const node = (win: Locator, id: string) => win.locator(`[data-testid=task-node][data-node="${id}"]`);

/** A task whose middle node never ends by itself. */
const STUCK = `name: stuck
nodes:
  - id: first
    topic: kernel.ping
  - id: forever
    topic: vm.spawn
    after: [first]
    payload:
      module:
        wat: '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))'
  - id: last
    topic: kernel.ping
    after: [forever]
`;

test('the welcome pipeline runs node by node and shows each result', async ({ page }) => {
  const win = await openTasks(page);
  // The sample is drawn before it runs: three pending nodes.
  for (const id of ['check', 'hello', 'echo']) {
    await expect(node(win, id)).toHaveAttribute('data-state', 'pending');
  }
  await win.getByTestId('tasks-run').click();
  for (const id of ['check', 'hello', 'echo']) {
    await expect(node(win, id)).toHaveAttribute('data-state', 'succeeded');
  }
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'succeeded');
  await node(win, 'echo').click();
  await expect(win.getByTestId('task-details-stdout')).toHaveText('hello said: Hello from Aether!\n');
  // The run is in the history.
  await expect(win.getByTestId('task-history-row').first()).toHaveAttribute('data-state', 'succeeded');
});

test('a running node is shown live and Cancel stops the run', async ({ page }) => {
  const win = await openTasks(page);
  await win.getByTestId('tasks-source').fill(STUCK);
  await win.getByTestId('tasks-run').click();
  await expect(node(win, 'first')).toHaveAttribute('data-state', 'succeeded');
  await expect(node(win, 'forever')).toHaveAttribute('data-state', 'running');
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'running');
  await win.getByTestId('tasks-cancel').click();
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'cancelled');
  await expect(node(win, 'forever')).toHaveAttribute('data-state', 'cancelled');
  await expect(node(win, 'last')).toHaveAttribute('data-state', 'cancelled');
  // It can run again.
  await expect(win.getByTestId('tasks-rerun')).toBeEnabled();
});

test('definitions load from the VFS, bad ones are explained, and history survives a reload', async ({ page }) => {
  let win = await openTasks(page);
  await win.getByTestId('tasks-source').fill('name: [unclosed');
  await win.getByTestId('tasks-run').click();
  await expect(win.getByTestId('tasks-status')).toContainText('YAML');

  await win.getByTestId('tasks-path').fill('/welcome/pipeline.task.yaml');
  await win.getByTestId('tasks-load').click();
  await expect(win.getByTestId('tasks-status')).toHaveText('Loaded /welcome/pipeline.task.yaml.');
  await expect(win.getByTestId('tasks-source')).toHaveValue(/welcome-pipeline/);
  await win.getByTestId('tasks-run').click();
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'succeeded');

  await page.reload();
  await openDesktop(page);
  win = windows(page, 'tasks');
  if ((await win.count()) === 0) {
    await page.locator('button.dock-item[data-app=tasks]').click();
  }
  const row = win.getByTestId('task-history-row').first();
  await expect(row).toHaveAttribute('data-state', 'succeeded');
  await row.click();
  await expect(node(win, 'echo')).toHaveAttribute('data-state', 'succeeded');
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'succeeded');
});

/** True when `inner` lies wholly inside `outer` (half a pixel of rounding allowed). */
function inside(inner: Box, outer: Box): boolean {
  return (
    inner.x >= outer.x - 0.5 &&
    inner.y >= outer.y - 0.5 &&
    inner.x + inner.width <= outer.x + outer.width + 0.5 &&
    inner.y + inner.height <= outer.y + outer.height + 0.5
  );
}

/** Every node can be brought into view inside the graph's pane and the window, and is drawn at full size. */
async function expectEveryNodeReachable(win: Locator, ids: string[]): Promise<void> {
  const canvas = win.locator('.tasks-canvas');
  for (const id of ids) {
    const rect = node(win, id).locator('rect');
    await rect.scrollIntoViewIfNeeded();
    const box = await boxOf(rect);
    expect(box.width, `${id} is drawn at full size`).toBeGreaterThanOrEqual(100);
    expect(inside(box, await boxOf(canvas)), `${id} inside the graph pane`).toBe(true);
    expect(inside(box, await boxOf(win)), `${id} inside the window`).toBe(true);
  }
}

test('the graph fits or scrolls: every node of the welcome pipeline and of a 30-node graph can be seen', async ({ page }) => {
  const win = await openTasks(page);
  // At the window's default size the welcome pipeline fits its pane whole: nothing to scroll.
  const canvas = win.locator('.tasks-canvas');
  const overflow = await canvas.evaluate((el) => [el.scrollWidth - el.clientWidth, el.scrollHeight - el.clientHeight]);
  expect(overflow, 'the welcome pipeline overflows its pane by [x, y] px').toEqual([0, 0]);
  await expectEveryNodeReachable(win, ['check', 'hello', 'echo']);

  // Thirty nodes, ten wide and three deep.
  const ids = Array.from({ length: 30 }, (_, i) => `n${String(i + 1).padStart(2, '0')}`);
  const lines = ['name: wide', 'nodes:'];
  ids.forEach((id, i) => {
    lines.push(`  - id: ${id}`, '    topic: kernel.ping');
    if (i >= 10) lines.push(`    after: [${ids[i - 10]}]`);
  });
  await win.getByTestId('tasks-source').fill(lines.join('\n') + '\n');
  await win.getByTestId('tasks-run').click();
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'succeeded');
  await expectEveryNodeReachable(win, ids);
  // Readable: no two boxes overlap.
  const boxes = await Promise.all(ids.map((id) => boxOf(node(win, id).locator('rect'))));
  for (let a = 0; a < boxes.length; a++) {
    for (let b = a + 1; b < boxes.length; b++) {
      const [p, q] = [boxes[a], boxes[b]];
      const apart = p.x + p.width <= q.x || q.x + q.width <= p.x || p.y + p.height <= q.y || q.y + q.height <= p.y;
      expect(apart, `${ids[a]} and ${ids[b]} overlap`).toBe(true);
    }
  }
});
