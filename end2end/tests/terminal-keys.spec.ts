// Keys typed in the Terminal and what the screen shows back: the keystroke echo figure (keydown
// → the character drawn on xterm's screen, timed in the page with performance.now(), so
// Playwright's own latency is not counted) and the direct path between the Terminal and the
// machine running in the same tab (output once, in order, complete under a flood; the kernel
// still knows the machine: listed, killed with vm.exit and its stats). Real kernel, real v86 in
// a Web Worker, real Debian guest. Figures are printed (`FIGURE …`), never asserted.
import { test, expect } from './support/fixtures';
import { openDesktop, type Envelope } from './support/aether';
import { dockItem, windows } from './support/desktop';
import type { Locator, Page } from '@playwright/test';

const PROMPT = 'root@aether:';
const BOOT_WAIT_MS = 240_000;
/** Keys timed per run of the echo figure. */
const KEYS = 50;

/** Opens the desktop (collecting every `vm.*` envelope the page gets) and a Terminal window. */
async function openTerminal(page: Page): Promise<Locator> {
  await openDesktop(page);
  await page.evaluate(() => {
    window.__got = [];
    window.aether.subscribe('vm.*', (env) => window.__got.push(env));
  });
  await dockItem(page, 'terminal').click();
  const win = windows(page, 'terminal');
  await expect(win).toHaveCount(1);
  await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'running', { timeout: BOOT_WAIT_MS });
  await expect(win.locator('.xterm-rows')).toContainText(PROMPT, { timeout: 30_000 });
  return win;
}

/**
 * Records everything written to xterm.js (its `write`, patched on the class the page loaded) in
 * `window.__written`, with when each write came (`window.__writes`).
 */
async function recordWrites(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__written = '';
    w.__writes = [];
    const proto = w.Terminal.prototype;
    if (!proto.__recorded) {
      const write = proto.write;
      proto.write = function (data: string, ...rest: unknown[]) {
        if (typeof data === 'string') {
          w.__written += data;
          w.__writes.push({ at: performance.now(), data });
          w.__onWrite?.(data);
        }
        if (!this.__rendering) {
          this.__rendering = true;
          this.onRender(() => w.__onRender?.());
        }
        if (rest.length === 0) return write.call(this, data, () => w.__onParsed?.());
        return write.call(this, data, ...rest);
      };
      proto.__recorded = true;
    }
  });
}

const written = (page: Page) => page.evaluate(() => (window as any).__written as string);

/** Types a line at the shell. */
async function typeLine(page: Page, win: Locator, line: string): Promise<void> {
  await win.getByTestId('terminal-screen').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** Waits until the shell answers (keys typed while its shell starts can be lost). */
async function waitForAnswers(page: Page, win: Locator): Promise<void> {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const n = 5000 + attempt + Math.floor(Math.random() * 1000) * 10;
    await typeLine(page, win, `echo probe-$((${n}+1))`);
    try {
      await expect(win.locator('.xterm-rows')).toContainText(`probe-${n + 1}`, { timeout: 5_000 });
      return;
    } catch {
      // Not answering yet: probe again.
    }
  }
  throw new Error('the guest shell never answered a probe');
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/**
 * Types `keys` one at a time at the prompt; for each, the time from its keydown to the screen
 * (xterm's DOM rows) showing it, and to xterm.js being handed it (`write`). Milliseconds.
 */
async function timeEchoes(page: Page, win: Locator, keys: string): Promise<{ drawn: number[]; written: number[] }> {
  await win.getByTestId('terminal-screen').click();
  await page.evaluate(() => {
    const w = window as any;
    if (w.__echoSeen) return;
    const rows = document.querySelector('[data-testid=terminal-screen] .xterm-rows')!;
    w.__echo = { want: null };
    document.addEventListener(
      'keydown',
      () => {
        if (w.__echo.want !== null && w.__echo.t0 === undefined) w.__echo.t0 = performance.now();
      },
      true,
    );
    w.__onWrite = (data: string) => {
      const e = w.__echo;
      if (e.want !== null && e.t0 !== undefined && e.wrote === undefined && data.includes(e.want.slice(-1))) {
        e.wrote = performance.now() - e.t0;
      }
    };
    w.__onParsed = () => {
      const e = w.__echo;
      if (e.wrote !== undefined && e.parsed === undefined) e.parsed = performance.now() - e.t0;
    };
    w.__onRender = () => {
      const e = w.__echo;
      if (e.parsed !== undefined && e.rendered === undefined) e.rendered = performance.now() - e.t0;
    };
    const seen = () => {
      const e = w.__echo;
      if (e.want === null || e.t0 === undefined) return;
      const text = (rows.textContent ?? '').replace(/\u00a0/g, ' ');
      const at = text.lastIndexOf('/root# ');
      if (at >= 0 && text.slice(at + '/root# '.length).trimEnd() === e.want) {
        e.drawn = performance.now() - e.t0;
        e.want = null;
        e.done();
      }
    };
    w.__echoSeen = seen;
    new MutationObserver(seen).observe(rows, { subtree: true, childList: true, characterData: true });
  });
  const drawn: number[] = [];
  const wrote: number[] = [];
  let typed = '';
  for (const key of keys) {
    typed += key;
    await page.evaluate((want) => {
      const w = window as any;
      w.__echo = { want };
      w.__echo.finished = new Promise<void>((resolve) => (w.__echo.done = resolve));
    }, typed);
    await page.keyboard.press(key);
    const got = await page.evaluate(() => {
      const w = window as any;
      const timeout = new Promise((resolve) => setTimeout(resolve, 10_000));
      return Promise.race([w.__echo.finished, timeout]).then(() => ({
        drawn: w.__echo.drawn,
        wrote: w.__echo.wrote,
        parsed: w.__echo.parsed,
        rendered: w.__echo.rendered,
      }));
    });
    expect(got.drawn, `the echo of ${JSON.stringify(key)} reached the screen`).toBeDefined();
    drawn.push(got.drawn);
    if (got.wrote !== undefined) wrote.push(got.wrote);
    if (process.env.AETHER_ECHO_TRACE) console.log(`echo ${JSON.stringify(key)}: ${JSON.stringify(got)}`);
    // Keys come at a person's pace, out of step with the screen's frames.
    await page.waitForTimeout(20 + Math.random() * 60);
  }
  // A no-op command (`:` and its arguments).
  await page.keyboard.press('Enter');
  return { drawn, written: wrote };
}

test('keystroke echo in the Terminal (figure printed)', async ({ page }) => {
  test.slow();
  test.setTimeout(BOOT_WAIT_MS + 240_000);
  const win = await openTerminal(page);
  await recordWrites(page);
  await waitForAnswers(page, win);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const runs: string[] = [];
  for (let run = 1; run <= 3; run++) {
    let keys = ':';
    for (let i = 1; i < KEYS; i++) keys += letters[Math.floor(Math.random() * letters.length)];
    const { drawn, written: toXterm } = await timeEchoes(page, win, keys);
    const line =
      `p50 ${quantile(drawn, 0.5).toFixed(1)} ms p99 ${quantile(drawn, 0.99).toFixed(1)} ms` +
      ` (to xterm.write: p50 ${quantile(toXterm, 0.5).toFixed(1)} ms p99 ${quantile(toXterm, 0.99).toFixed(1)} ms;` +
      ` ${drawn.length} keys)`;
    runs.push(line);
    console.log(`FIGURE terminal keystroke echo run ${run}: ${line}`);
  }
  // What xterm.js waits for between parsing output and drawing it: the page's next frame.
  const frames = await page.evaluate(async () => {
    const gaps: number[] = [];
    let last = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
    for (let i = 0; i < 60; i++) {
      const now = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
      gaps.push(now - last);
      last = now;
    }
    return gaps;
  });
  console.log(
    `FIGURE terminal page frame interval with the Terminal open: p50 ${quantile(frames, 0.5).toFixed(1)} ms p90 ${quantile(frames, 0.9).toFixed(1)} ms`,
  );
});

/** The pid of the Terminal's machine, from its status line (`Machine N: running …`). */
async function machinePid(win: Locator): Promise<number> {
  const status = (await win.getByTestId('terminal-status').textContent()) ?? '';
  const pid = Number(/Machine (\d+)/.exec(status)?.[1]);
  expect(pid, `a pid in the status "${status}"`).toBeGreaterThan(0);
  return pid;
}

const count = (text: string, part: string) => text.split(part).length - 1;

test("the Terminal and its machine in the same tab talk directly: output once, in order, complete under a flood; the kernel still lists and ends it", async ({
  page,
}) => {
  test.slow();
  test.setTimeout(BOOT_WAIT_MS + 240_000);
  const win = await openTerminal(page);
  await recordWrites(page);
  await waitForAnswers(page, win);
  const pid = await machinePid(win);

  // A command's output appears once, in order.
  await typeLine(page, win, 'echo one-$((1+1)); echo two-$((2+1))');
  await expect.poll(() => written(page)).toContain('two-3');
  let out = await written(page);
  expect(count(out, 'one-2\r\n')).toBe(1);
  expect(count(out, 'two-3\r\n')).toBe(1);
  expect(out.indexOf('one-2\r\n')).toBeLessThan(out.indexOf('two-3\r\n'));

  // A flood arrives whole and in order.
  const floodStarted = Date.now();
  await typeLine(page, win, 'seq 1 20000');
  await expect
    .poll(
      async () => {
        const all = await written(page);
        const end = all.lastIndexOf('\r\n20000\r\n');
        return end >= 0 && all.indexOf(PROMPT, end) >= 0;
      },
      { timeout: 180_000, intervals: [500, 1000] },
    )
    .toBe(true);
  console.log(`FIGURE terminal flood: seq 1 20000 (108,894 bytes) on the screen in ${Date.now() - floodStarted} ms`);
  out = await written(page);
  const from = out.indexOf('\r\n', out.lastIndexOf('seq 1 20000')) + 2;
  const to = out.indexOf(PROMPT, out.lastIndexOf('\r\n20000\r\n'));
  const lines = out.slice(from, to).split('\r\n').filter((l) => l !== '');
  expect(lines.length).toBe(20000);
  const wrong = lines.findIndex((l, i) => l !== String(i + 1));
  expect(wrong, `line ${wrong + 1} is ${JSON.stringify(lines[wrong])}`).toBe(-1);

  // None of it crossed the bus: the page received no vm.stdout for the machine.
  const onBus = await page.evaluate(
    (pid) => window.__got.filter((e: Envelope) => e.topic === 'vm.stdout' && e.payload?.pid === pid).length,
    pid,
  );
  expect(onBus).toBe(0);

  // The kernel still knows the machine: listed, killed, one vm.exit with the bytes it wrote.
  const list = await page.evaluate(() => window.aether.request('vm.list', {}));
  expect((list.programs as { pid: number }[]).map((p) => p.pid)).toContain(pid);
  await page.evaluate((pid) => window.aether.request('vm.kill', { pid }), pid);
  await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'off');
  await expect(win.getByTestId('terminal-status')).toContainText('powered off');
  const exits = await page.evaluate(
    (pid) => window.__got.filter((e: Envelope) => e.topic === 'vm.exit' && e.payload?.pid === pid),
    pid,
  );
  expect(exits).toHaveLength(1);
  expect(exits[0].payload!.code).toBe(137);
  const stats = exits[0].payload!.stats as { output_bytes: number };
  expect(stats.output_bytes).toBeGreaterThanOrEqual(Buffer.byteLength(out));
  const after = await page.evaluate(() => window.aether.request('vm.list', {}));
  expect((after.programs as { pid: number }[]).map((p) => p.pid)).not.toContain(pid);
});
