// The Tasks app as a person uses it: run the welcome pipeline (three nodes, a program reading
// another's output), watch node states change live, cancel a run that never ends, load a
// definition from the VFS, and find past runs in the history after a reload. The definition is
// written in Monaco (YAML, the kernel's parse errors as markers on their line) once it has
// loaded, in a plain text box until then. DOM contract in desktop/src/apps/tasks/mod.rs,
// definition.rs, graph.rs, details.rs and history.rs.
import type { Locator, Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { boxOf, dockItem, windows, type Box } from './support/desktop';
import { editorTab, editorWindow, modelText, typeAtEnd } from './support/editor';

/** Waits until this tab's VFS holds the welcome folder (the sample's programs). */
async function welcomeReady(page: Page): Promise<void> {
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
}

/** Opens a Tasks window from the dock (the desktop is already open). */
async function openTasksWindow(page: Page): Promise<Locator> {
  await dockItem(page, 'tasks').click();
  const win = windows(page, 'tasks');
  await expect(win).toHaveCount(1);
  return win;
}

/** Opens the desktop once this tab's VFS holds the welcome folder, then a Tasks window. */
async function openTasks(page: Page): Promise<Locator> {
  await openDesktop(page);
  await welcomeReady(page);
  return await openTasksWindow(page);
}

const node = (win: Locator, id: string) => win.locator(`[data-testid=task-node][data-node="${id}"]`);

/** The definition's editor; `data-editor` is `loading`, `monaco` or `fallback`. */
const definition = (win: Locator) => win.getByTestId('tasks-definition');

/** Waits for the Monaco editor of the definition; returns its model's URI. */
async function monacoUri(win: Locator): Promise<string> {
  await expect(definition(win)).toHaveAttribute('data-editor', 'monaco');
  const uri = await win.getByTestId('tasks-monaco').getAttribute('data-model');
  expect(uri, 'the Monaco editor names its model').toBeTruthy();
  return uri!;
}

interface Marker {
  line: number;
  column: number;
  message: string;
}

/** What the page's Monaco holds for `uri` (null: no such model). */
async function model(page: Page, uri: string): Promise<{ text: string; language: string } | null> {
  return await page.evaluate((u) => {
    const monaco = (window as any).monaco;
    const m = monaco?.editor.getModel(monaco.Uri.parse(u));
    return m ? { text: m.getValue(), language: m.getLanguageId() } : null;
  }, uri);
}

/** The error markers on `uri`, whether or not its model still exists. */
async function markers(page: Page, uri: string): Promise<Marker[]> {
  return await page.evaluate((u) => {
    const monaco = (window as any).monaco;
    return monaco.editor
      .getModelMarkers({ resource: monaco.Uri.parse(u) })
      .filter((m: any) => m.severity === monaco.MarkerSeverity.Error)
      .map((m: any) => ({ line: m.startLineNumber, column: m.startColumn, message: m.message }));
  }, uri);
}

/** Replaces the whole definition as a paste does (an edit of the Monaco model). */
async function setDefinition(win: Locator, text: string): Promise<void> {
  const uri = await monacoUri(win);
  await win.page().evaluate(
    ([u, t]) => {
      const monaco = (window as any).monaco;
      monaco.editor.getModel(monaco.Uri.parse(u)).setValue(t);
    },
    [uri, text],
  );
}

/** Selects line `line`, columns `from` to `to`, in the definition's editor and focuses it. */
async function select(win: Locator, line: number, from: number, to: number): Promise<void> {
  const uri = await monacoUri(win);
  await win.page().evaluate(
    ([u, l, a, b]) => {
      const monaco = (window as any).monaco;
      const target = monaco.Uri.parse(u).toString();
      const editor = monaco.editor.getEditors().find((e: any) => e.getModel()?.uri.toString() === target);
      editor.setSelection(new monaco.Selection(l, a, l, b));
      editor.focus();
    },
    [uri, line, from, to] as const,
  );
}

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

/** Two pings; the first has a timeout that is not a number (line 5, column 17). */
const MARKED = `name: marked
nodes:
  - id: first
    topic: kernel.ping
    timeout_ms: soon
  - id: second
    topic: kernel.ping
    after: [first]
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
  await setDefinition(win, STUCK);
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
  await setDefinition(win, 'name: [unclosed');
  await win.getByTestId('tasks-run').click();
  await expect(win.getByTestId('tasks-status')).toContainText('YAML');

  await win.getByTestId('tasks-path').fill('/welcome/pipeline.task.yaml');
  await win.getByTestId('tasks-load').click();
  await expect(win.getByTestId('tasks-status')).toHaveText('Loaded /welcome/pipeline.task.yaml.');
  const uri = await monacoUri(win);
  await expect.poll(async () => (await model(page, uri))?.text).toContain('name: welcome-pipeline');
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
  await setDefinition(win, lines.join('\n') + '\n');
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

test('the definition is a Monaco YAML editor with the same text, highlighted as YAML', async ({ page }) => {
  const policy: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) policy.push(m.text());
  });
  const win = await openTasks(page);
  const uri = await monacoUri(win);
  await expect(win.getByTestId('tasks-source'), 'the text box gave way to the editor').toHaveCount(0);
  const held = await model(page, uri);
  expect(held?.language).toBe('yaml');
  expect(held?.text).toContain('name: welcome-pipeline');
  await expect(win.locator('.monaco-editor .view-lines')).toContainText('welcome-pipeline');
  // Monaco's YAML tokenizer loaded (a module of its own, fetched under the page's policy).
  await expect
    .poll(() =>
      page.evaluate(() =>
        (window as any).monaco.editor
          .tokenize('name: x', 'yaml')[0]
          .map((t: any) => t.type)
          .join(' '),
      ),
    )
    .toContain('.yaml');
  expect(policy, 'policy violations').toEqual([]);
  // The sample's graph is drawn from the editor's text.
  await expect(node(win, 'echo')).toHaveAttribute('data-state', 'pending');
});

test("the kernel's parse errors are markers on their line, cleared once the text parses, and Run reads the editor", async ({
  page,
}) => {
  const win = await openTasks(page);
  const uri = await monacoUri(win);
  await setDefinition(win, MARKED);
  await expect.poll(() => markers(page, uri)).toEqual([
    { line: 5, column: 17, message: expect.stringContaining('timeout_ms') },
  ]);

  // Typed over: `soon` becomes a number, and the marker goes.
  await select(win, 5, 17, 21);
  await page.keyboard.type('5000');
  await expect.poll(async () => (await model(page, uri))?.text).toContain('timeout_ms: 5000');
  await expect.poll(() => markers(page, uri)).toEqual([]);

  // A misspelt key, typed key by key, is marked on its own line; spelt right, the mark goes.
  await select(win, 7, 5, 10);
  await page.keyboard.type('topik');
  await expect.poll(() => markers(page, uri)).toEqual([
    { line: 7, column: 5, message: expect.stringContaining('topik') },
  ]);
  await select(win, 7, 9, 10);
  await page.keyboard.type('c');
  await expect.poll(async () => (await model(page, uri))?.text).toBe(MARKED.replace('soon', '5000'));
  await expect.poll(() => markers(page, uri)).toEqual([]);

  // Run defines and runs what the editor holds.
  await win.getByTestId('tasks-run').click();
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'succeeded');
  await expect(node(win, 'first')).toHaveAttribute('data-state', 'succeeded');
  await expect(node(win, 'second')).toHaveAttribute('data-state', 'succeeded');
  await expect(node(win, 'check')).toHaveCount(0);
});

test('text typed before Monaco loads is kept, and typing goes on in the editor where it stopped', async ({ page }) => {
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  // The context's route also holds the service worker's fetch (a controlled page's request).
  await page.context().route('**/monaco/vs/loader.js', async (route) => {
    await gate;
    await route.continue();
  });
  const win = await openTasks(page);
  await expect(definition(win)).toHaveAttribute('data-editor', 'loading');
  const box = win.getByTestId('tasks-source');
  await box.fill('name: early\nnodes:\n  - id: only\n    topic: kernel.pi');
  await box.press('Control+End');
  release();
  const uri = await monacoUri(win);
  await page.keyboard.type('ng');
  await expect
    .poll(async () => (await model(page, uri))?.text)
    .toBe('name: early\nnodes:\n  - id: only\n    topic: kernel.ping');
  await win.getByTestId('tasks-run').click();
  await expect(node(win, 'only')).toHaveAttribute('data-state', 'succeeded');
});

test('without Monaco the text box stays and explains a bad definition', async ({ page }) => {
  await page.context().route('**/monaco/vs/loader.js', (route) => route.abort());
  const win = await openTasks(page);
  await expect(definition(win)).toHaveAttribute('data-editor', 'fallback');
  await win.getByTestId('tasks-source').fill(MARKED);
  await win.getByTestId('tasks-run').click();
  await expect(win.getByTestId('tasks-status')).toContainText('timeout_ms');
  await expect(win.getByTestId('tasks-status')).toContainText('line 5');
  await win.getByTestId('tasks-source').fill(MARKED.replace('soon', '5000'));
  await win.getByTestId('tasks-run').click();
  await expect(win.getByTestId('tasks-run-state')).toHaveAttribute('data-state', 'succeeded');
});

test("closing the Tasks window disposes its editor, its model and its markers", async ({ page }) => {
  const win = await openTasks(page);
  const uri = await monacoUri(win);
  await setDefinition(win, MARKED);
  await expect.poll(async () => (await markers(page, uri)).length).toBe(1);
  const editors = () => page.evaluate(() => (window as any).monaco.editor.getEditors().length);
  expect(await editors()).toBe(1);
  await win.locator('.window-close').click();
  await expect(win).toHaveCount(0);
  expect(await model(page, uri)).toBeNull();
  expect(await markers(page, uri)).toEqual([]);
  expect(await editors()).toBe(0);
  // A new window gets an editor of its own.
  const again = await openTasksWindow(page);
  const next = await monacoUri(again);
  expect(next).not.toBe(uri);
  expect((await model(page, next))?.text).toContain('name: welcome-pipeline');
});

/** Opens `path` in the Editor through the Files app (the desktop is already open). */
async function editFromFiles(page: Page, path: string): Promise<void> {
  await dockItem(page, 'files').click();
  const files = windows(page, 'files');
  await files.locator('[data-testid=vfs-tree-entry][data-path="/welcome"]').click();
  await files.locator(`[data-testid=vfs-entry][data-path="${path}"]`).click();
  await files.getByTestId('files-edit').click();
  await expect(editorTab(page, path)).toHaveAttribute('data-active', 'true');
  await expect(editorWindow(page).getByTestId('editor')).toHaveAttribute('data-ready', 'true');
}

/** Types into the Editor (brought to the front) and checks the text landed in its file. */
async function typeInEditor(page: Page, path: string, text: string): Promise<void> {
  await dockItem(page, 'editor').click();
  await expect(editorWindow(page)).toHaveClass(/focused/);
  await typeAtEnd(page, text);
  await expect(editorTab(page, path)).toHaveAttribute('data-dirty', 'true');
  await expect.poll(() => modelText(page, path)).toContain(text);
}

/** Marks and clears a parse error in the Tasks editor (brought to the front). */
async function markInTasks(page: Page): Promise<void> {
  await dockItem(page, 'tasks').click();
  const win = windows(page, 'tasks');
  await expect(win).toHaveClass(/focused/);
  const uri = await monacoUri(win);
  await setDefinition(win, MARKED);
  await expect.poll(async () => (await markers(page, uri)).map((m) => m.line)).toEqual([5]);
  await select(win, 5, 17, 21);
  await page.keyboard.type('5000');
  await expect.poll(() => markers(page, uri)).toEqual([]);
  expect((await model(page, uri))?.language).toBe('yaml');
}

test('the Editor opened first, then Tasks: both editors work in one page', async ({ page }) => {
  await openDesktop(page);
  await welcomeReady(page);
  await editFromFiles(page, '/welcome/README.md');
  await typeInEditor(page, '/welcome/README.md', 'Before Tasks.');
  await openTasksWindow(page);
  await markInTasks(page);
  await typeInEditor(page, '/welcome/README.md', 'After Tasks.');
});

test('Tasks opened first, then the Editor: both editors work in one page', async ({ page }) => {
  const win = await openTasks(page);
  await monacoUri(win);
  await editFromFiles(page, '/welcome/README.md');
  await typeInEditor(page, '/welcome/README.md', 'After Tasks.');
  await markInTasks(page);
  await typeInEditor(page, '/welcome/README.md', 'Once more.');
});
