// The Tasks app as a person uses it: run the welcome pipeline (three nodes, a program reading
// another's output), watch node states change live, cancel a run that never ends, load a
// definition from the VFS, and find past runs in the history after a reload. DOM contract in
// desktop/src/apps/tasks/mod.rs, graph.rs, details.rs and history.rs.
import type { Locator, Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { windows } from './support/desktop';

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
