// The desktop under its Content-Security-Policy (issue #13, finding 14): every response carries the
// policy, `nosniff` and `no-referrer`; a page of another origin cannot frame the desktop; and the
// parts that stretch a policy most (Monaco's loader and workers, v86's worker and JIT, xterm.js,
// the bus WebSocket, WASM programs from the Console) all run in one page without one violation.
// The policy itself is in kernel/src/assets/security.rs.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsoleMessage, Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { dockItem, windows } from './support/desktop';
import { editorTab, modelText, typeAtEnd } from './support/editor';

const BOOT_WAIT_MS = 240_000;

/** The policy's directives by name: `{'script-src': "'self' 'wasm-unsafe-eval' …"}`. */
function directives(csp: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out[name] = sources.join(' ');
  }
  return out;
}

/** What breaks the policy in a page: `securitypolicyviolation` events, CSP console messages, console errors. */
interface Watch {
  violations: () => Promise<string[]>;
  consoleProblems: string[];
  workers: string[];
}

/** Starts collecting, before the page's first script runs. */
async function watchPolicy(page: Page): Promise<Watch> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as any).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => {
      seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const consoleProblems: string[] = [];
  const workers: string[] = [];
  const onConsole = (msg: ConsoleMessage) => {
    const text = msg.text();
    if (msg.type() === 'error' || /Content Security Policy|Refused to|web worker/i.test(text)) {
      consoleProblems.push(`${msg.type()}: ${text}`);
    }
  };
  page.on('console', onConsole);
  page.on('worker', (worker) => {
    workers.push(worker.url());
    // Violations inside a worker (importScripts, WebAssembly) are reported to the worker only.
    (worker as any).on?.('console', onConsole);
  });
  return {
    violations: async () => await page.evaluate(() => (window as any).__cspViolations ?? []),
    consoleProblems,
    workers,
  };
}

test('every response carries the policy, nosniff, no-referrer and no framing by others', async ({ request }) => {
  const index = await request.get('/');
  expect(index.status()).toBe(200);
  const html = await index.text();
  // A script of the desktop itself, by its hashed name in index.html.
  const script = html.match(/(?:src|href)="(\/[^"]+\.js)"/)?.[1];
  expect(script, `index.html names a script:\n${html}`).toBeTruthy();

  for (const path of ['/', script!, '/healthz', '/no-such-file.js']) {
    const res = await request.get(path);
    const headers = res.headers();
    const csp = headers['content-security-policy'];
    expect(csp, `${path} has a Content-Security-Policy`).toBeTruthy();
    const d = directives(csp);
    expect(d['frame-ancestors'], path).toBe("'self'");
    expect(d['default-src'], path).toBe("'self'");
    expect(d['object-src'], path).toBe("'none'");
    expect(d['script-src'], path).toContain("'wasm-unsafe-eval'");
    expect(d['script-src'], path).not.toContain("'unsafe-eval'");
    expect(d['script-src'], path).not.toContain("'unsafe-inline'");
    expect(headers['x-content-type-options'], path).toBe('nosniff');
    expect(headers['referrer-policy'], path).toBe('no-referrer');
    expect(headers['x-frame-options'], path).toBe('SAMEORIGIN');
  }
});

test('a page on another origin cannot frame the desktop', async ({ page, baseURL }) => {
  // Another origin: same host, another port, serving one page that frames the desktop.
  const outer = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>elsewhere</title><iframe id="victim" src="${baseURL}/"></iframe>`);
  });
  await new Promise<void>((resolve) => outer.listen(0, '127.0.0.1', resolve));
  const port = (outer.address() as AddressInfo).port;
  try {
    const refused = page.waitForEvent('console', {
      predicate: (m) => /frame-ancestors/.test(m.text()),
      timeout: 15_000,
    });
    await page.goto(`http://127.0.0.1:${port}/`);
    expect((await refused).text()).toContain("frame-ancestors 'self'");
    // The desktop never ran inside the frame.
    const frame = page.frameLocator('#victim');
    await expect(frame.getByTestId('bus-state')).toHaveCount(0);
    expect(page.frames().filter((f) => f.url().startsWith(`${baseURL}`))).toHaveLength(0);
  } finally {
    await new Promise((resolve) => outer.close(resolve));
  }
});

test('the Editor, the Terminal and the Console run in one page with no policy violation', async ({ page }) => {
  test.slow();
  test.setTimeout(BOOT_WAIT_MS + 120_000);
  const watch = await watchPolicy(page);

  // The Terminal: xterm.js, and v86 in its Web Worker (WebAssembly, its JIT) booting to a shell.
  // (apps.spec.ts opens the apps in other orders; here the policy is what is watched.)
  await openDesktop(page);
  await dockItem(page, 'terminal').click();
  const terminal = windows(page, 'terminal');
  await expect(terminal).toHaveCount(1);
  await expect(terminal.getByTestId('terminal-status')).toHaveAttribute('data-state', 'running', {
    timeout: BOOT_WAIT_MS,
  });
  await expect(terminal.locator('.xterm-rows')).toContainText('root@aether:', { timeout: 30_000 });

  // The Console: a WAT program compiled and run on the kernel, its output streamed back.
  await dockItem(page, 'console').click();
  const consoleWin = windows(page, 'console');
  await expect(consoleWin).toHaveCount(1);
  await consoleWin.getByTestId('console-run').click();
  await expect(consoleWin.getByTestId('console-output')).toHaveText('Hello from WAT!\n');

  // The Editor: Monaco's AMD loader, its styles, and its blob: worker once there is text to work on.
  await dockItem(page, 'files').click();
  const files = windows(page, 'files');
  await files.locator('[data-testid=vfs-tree-entry][data-path="/welcome"]').click();
  await files.locator('[data-testid=vfs-entry][data-path="/welcome/hello.wat"]').click();
  await files.getByTestId('files-edit').click();
  await expect(editorTab(page, '/welcome/hello.wat')).toHaveAttribute('data-active', 'true');
  await expect.poll(() => modelText(page, '/welcome/hello.wat')).not.toBeNull();
  await typeAtEnd(page, '\n;; typed under the policy');
  await expect.poll(() => modelText(page, '/welcome/hello.wat')).toContain('typed under the policy');

  // Monaco starts its editor worker from a blob: URL (worker-src blob:) once it has text to scan.
  await expect.poll(() => watch.workers.some((url) => url.startsWith('blob:')), { timeout: 15_000 }).toBe(true);
  console.log(`CSP: workers started under the policy: ${watch.workers.join(', ')}`);
  expect(watch.workers.some((url) => url.includes('/v86/')), 'the v86 worker started').toBe(true);
  expect(await watch.violations(), 'securitypolicyviolation events').toEqual([]);
  expect(watch.consoleProblems, 'console errors and CSP messages').toEqual([]);

  // The watch is live, and the policy does refuse what it should: an injected inline script.
  const injectedRan = await page.evaluate(async () => {
    const script = document.createElement('script');
    script.textContent = 'window.__injectedRan = true;';
    document.head.appendChild(script);
    await new Promise((r) => setTimeout(r, 50));
    return (window as any).__injectedRan === true;
  });
  expect(injectedRan, 'an injected inline script is refused by the policy').toBe(false);
  await expect.poll(() => watch.violations()).toEqual([expect.stringContaining('script-src')]);
});
