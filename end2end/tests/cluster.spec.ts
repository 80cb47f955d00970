// A cluster as a person uses it: two gateway kernels (`gw-a`, `gw-b`) that run no WASM themselves
// and one runner process (`runner-1`) on a nats-server, all of this spec's own (support/cluster.ts).
// A tab on each gateway runs a program from its own files in the Console; it runs on the runner and
// its output comes back to the tab. Killing the runner ends a running program with
// `backend_unavailable`, a run with no runner up is refused at once, and a new runner serves again.
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { windows } from './support/desktop';
import { writeFile } from './support/editor';
import { ECHO_WAT } from './support/wat';
import { Cluster, clusterReport, printWat } from './support/cluster';
import type { Locator, Page } from '@playwright/test';

/** How long a gateway may take to hear the runner's heartbeat after both started. */
const PEER_TIMEOUT_MS = 20_000;

test.describe.configure({ mode: 'serial' });

let cluster: Cluster;

test.beforeAll(async () => {
  cluster = await Cluster.start();
});

test.afterAll(async () => {
  await cluster?.stop();
});

test.afterEach(async ({}, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus) {
    await testInfo.attach('cluster-output', { body: cluster.output, contentType: 'text/plain' });
  }
});

/** Polls `kernel.stats` on the page's gateway until `runner-1` is among the peers it hears. */
async function waitForRunner(page: Page): Promise<void> {
  await expect
    .poll(async () => (await clusterReport(page)).peers, {
      message: 'the gateway hears the runner',
      timeout: PEER_TIMEOUT_MS,
    })
    .toContain(Cluster.RUNNER_ID);
}

/** Opens the desktop served by `baseUrl` and a Console window from the dock; returns the window. */
async function openConsole(page: Page, baseUrl: string): Promise<Locator> {
  await openDesktop(page, baseUrl);
  await page.locator('button.dock-item[data-app=console]').click();
  const win = windows(page, 'console');
  await expect(win).toHaveCount(1);
  return win;
}

/** Types a VFS path into the Console's form and presses Run. */
async function runPath(win: Locator, path: string): Promise<void> {
  await win.getByTestId('console-path').fill(path);
  await win.getByTestId('console-run').click();
}

test('each gateway runs a program from its tab\'s own files on the runner, and the Console shows its output', async ({
  page,
  context,
}) => {
  const pageB = await context.newPage();
  const winA = await openConsole(page, cluster.a.baseUrl);
  const winB = await openConsole(pageB, cluster.b.baseUrl);
  await waitForRunner(page);
  await waitForRunner(pageB);

  // Each gateway is a gateway only: a program it starts can only run on the runner.
  const before = await clusterReport(page);
  expect(before).toMatchObject({ kernel_id: 'gw-a', roles: ['gateway'], connected: true });
  expect(await clusterReport(pageB)).toMatchObject({ kernel_id: 'gw-b', roles: ['gateway'], connected: true });

  // Each tab's file lives in its own IndexedDB (another origin: another port) and is read back by the runner.
  await writeFile(page, '/cluster/hello.wat', printWat('Hello from the tab on gw-a'));
  await writeFile(pageB, '/cluster/hello.wat', printWat('Hello from the tab on gw-b'));

  await runPath(winA, '/cluster/hello.wat');
  await expect(winA.getByTestId('console-tab')).toHaveText('hello.wat');
  await expect(winA.getByTestId('console-output')).toHaveText('Hello from the tab on gw-a\n');
  await expect(winA.getByTestId('console-status')).toHaveText(/^exit 0 · /);

  await runPath(winB, '/cluster/hello.wat');
  await expect(winB.getByTestId('console-output')).toHaveText('Hello from the tab on gw-b\n');
  await expect(winB.getByTestId('console-status')).toHaveText(/^exit 0 · /);

  // Neither page saw the other's output.
  await expect(winA.getByTestId('console-output')).toHaveText('Hello from the tab on gw-a\n');

  const after = await clusterReport(page);
  expect(after.roles, 'gw-a still runs no WASM itself').toEqual(['gateway']);
  expect(after.remote_programs, 'the finished program is no longer held on the runner').toBe(0);
  await pageB.close();
});

test('killing the runner ends a running program with backend_unavailable; with none up a run is refused; a new runner serves again', async ({
  page,
}) => {
  const win = await openConsole(page, cluster.a.baseUrl);
  await waitForRunner(page);
  await writeFile(page, '/cluster/echo.wat', ECHO_WAT);
  await writeFile(page, '/cluster/hello.wat', printWat('Back on a runner'));

  // A program waiting on stdin, held by the runner: keys typed in the Console reach it there.
  await runPath(win, '/cluster/echo.wat');
  const status = win.getByTestId('console-status');
  await expect(status).toHaveText(/^running · pid \d+$/);
  const stdin = win.getByTestId('console-stdin');
  await stdin.fill('across kernels');
  await stdin.press('Enter');
  await expect(win.getByTestId('console-output').locator('.console-stdout')).toHaveText('across kernels\n');
  expect((await clusterReport(page)).remote_programs, 'gw-a holds the program on the runner').toBe(1);

  // The runner dies mid-run: the gateway notices its silence and ends the program.
  await cluster.killRunner();
  const killedAt = Date.now();
  await expect(status).toHaveAttribute('data-state', 'error');
  console.log(`FIGURE cluster: runner killed -> Console shows the error: ${Date.now() - killedAt} ms`);
  await expect(status).toHaveText(/^backend_unavailable: .*runner.*gone/i);
  await expect(stdin).toBeDisabled();
  expect((await clusterReport(page)).remote_programs).toBe(0);

  // No runner up: a new run is refused at once, in a tab of its own.
  const front = win.locator('[data-testid=console-tab][aria-selected=true]');
  const refusedFrom = Date.now();
  await runPath(win, '/cluster/hello.wat');
  await expect(win.getByTestId('console-tab')).toHaveCount(2);
  await expect(front).toHaveText('hello.wat');
  await expect(front).toHaveAttribute('data-state', 'error');
  console.log(`FIGURE cluster: Run with no runner up -> refused: ${Date.now() - refusedFrom} ms`);
  await expect(status).toHaveText(/^backend_unavailable: no runner is up/i);
  await expect(win.getByTestId('console-output')).toHaveText('');

  // A runner comes back (the same name, a new process): runs succeed again.
  await cluster.startRunner();
  await waitForRunner(page);
  await runPath(win, '/cluster/hello.wat');
  await expect(win.getByTestId('console-tab')).toHaveCount(3);
  await expect(front).toHaveText('hello.wat');
  await expect(win.getByTestId('console-output')).toHaveText('Back on a runner\n');
  await expect(status).toHaveText(/^exit 0 · /);
  expect((await clusterReport(page)).roles).toEqual(['gateway']);
});
