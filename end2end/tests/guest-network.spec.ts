// The x86 guest's network, end to end: a kernel of the test's own lets the guest reach one HTTP
// server the test starts (`compute.v86.egress.allow`), the Terminal boots the guest (which takes
// a DHCP lease from v86 in the background), and busybox `wget` in the guest fetches the server's
// body through v86's Wisp adapter and the kernel's `/wisp` relay. A second server the list does
// not name stays out of reach, and the refusal is counted in `kernel.stats` (`egress_denied`);
// names resolve through the kernel (`/wisp/dns-query`): an allowed one answers, another is refused.
//
// The guest's 127.0.0.1 is the guest itself, so the servers listen on an address of this machine
// that is not loopback, and the guest connects to that address.
import * as http from 'node:http';
import * as os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Page } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { openDesktop } from './support/aether';
import { dockItem, windows } from './support/desktop';
import { Kernel } from './support/kernel';
import { BOOT_WAIT_MS, PROMPT, screenText, typeLine, waitForAnswers } from './support/terminal';

/** What the allowed server answers (never typed in the guest, so it can only come over the network). */
const BODY = 'the host answered the guest over the relay';

/** An IPv4 address of this machine that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return undefined;
}

/** An HTTP server on `host` answering `body`; counts its requests. */
async function serve(host: string, body: string): Promise<{ server: http.Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
}

const host = outsideAddress();
let allowed: Awaited<ReturnType<typeof serve>>;
let other: Awaited<ReturnType<typeof serve>>;
let kernel: Kernel;

test.beforeAll(async () => {
  if (!host) return;
  allowed = await serve(host, `${BODY}\n`);
  other = await serve(host, 'this server is not on the list\n');
  kernel = await Kernel.start(undefined, {
    AETHER_COMPUTE__V86__EGRESS__ALLOW: `${host}:${allowed.port},localhost:${allowed.port}`,
  });
});

test.afterAll(async () => {
  await kernel?.kill();
  for (const s of [allowed, other]) {
    if (s) await new Promise<void>((resolve) => s.server.close(() => resolve()));
  }
});

/** The kernel's `egress_denied` count. */
async function egressDenied(page: Page): Promise<number> {
  const stats = await page.evaluate(() => window.aether.request('kernel.stats', {}));
  const refusals = (stats.refusals ?? {}) as Record<string, number>;
  return refusals.egress_denied ?? 0;
}

test('the guest fetches from an allowed host through the kernel; others are refused and counted', async ({ page }) => {
  test.skip(!host, 'this machine has no IPv4 address besides loopback for the guest to reach');
  test.slow();
  test.setTimeout(BOOT_WAIT_MS + 180_000);
  const started = Date.now();
  await openDesktop(page, kernel.baseUrl);
  await dockItem(page, 'terminal').click();
  const win = windows(page, 'terminal');
  await expect(win).toHaveCount(1);
  await expect(win.getByTestId('terminal-status')).toHaveAttribute('data-state', 'running', { timeout: BOOT_WAIT_MS });
  await expect(screenText(win)).toContainText(PROMPT, { timeout: 30_000 });
  const bootMs = Date.now() - started;
  await waitForAnswers(page, win);

  // The lease comes in the background: /etc/resolv.conf is written last.
  const leaseStarted = Date.now();
  await typeLine(page, win, 'until grep -q nameserver /etc/resolv.conf 2>/dev/null; do sleep 1; done; echo lease-$((40+2))');
  await expect(screenText(win)).toContainText('lease-42', { timeout: 60_000 });
  const leaseMs = Date.now() - leaseStarted;
  await typeLine(page, win, 'clear; ifconfig eth0 | grep inet; cat /etc/resolv.conf');
  await expect(screenText(win)).toContainText('192.168.86.100');
  await expect(screenText(win)).toContainText('nameserver 192.168.86.1');

  // An allowed host: the body crosses v86's Wisp adapter and the kernel's relay.
  const fetchStarted = Date.now();
  await typeLine(page, win, `clear; wget -qO- http://${host}:${allowed.port}/; echo fetched-rc=$?`);
  await expect(screenText(win)).toContainText(BODY, { timeout: 60_000 });
  await expect(screenText(win)).toContainText('fetched-rc=0');
  const fetchMs = Date.now() - fetchStarted;
  expect(allowed.hits()).toBeGreaterThan(0);

  // A host the list does not name: the relay refuses the stream, wget fails, the server sees nothing.
  const deniedBefore = await egressDenied(page);
  await typeLine(page, win, `clear; wget -qO- http://${host}:${other.port}/; echo denied-rc=$?`);
  await expect(screenText(win)).toContainText(/denied-rc=[1-9]/, { timeout: 60_000 });
  await expect(screenText(win)).not.toContainText('this server is not on the list');
  expect(other.hits()).toBe(0);
  await expect.poll(() => egressDenied(page), { timeout: 10_000 }).toBeGreaterThan(deniedBefore);

  // Names resolve through the kernel (DNS over HTTP on /wisp/dns-query): a name the list names
  // answers (the guest has no /etc/hosts, so this is the kernel's answer), another is refused.
  await typeLine(page, win, 'clear; nslookup localhost 2>&1 | tr 1 X');
  await expect(screenText(win)).toContainText('X27.0.0.X', { timeout: 30_000 });
  const dnsBefore = await egressDenied(page);
  await typeLine(page, win, 'clear; nslookup not-on-the-list.example 2>&1; echo dns-done-$((1+1))');
  await expect(screenText(win)).toContainText('dns-done-2', { timeout: 30_000 });
  await expect.poll(() => egressDenied(page), { timeout: 10_000 }).toBeGreaterThan(dnsBefore);

  console.log(`FIGURE x86 cold boot to the shell prompt with the network card (guest-network spec, one boot): ${bootMs} ms`);
  console.log(`FIGURE x86 prompt answered → DHCP lease seen in the guest: ${leaseMs} ms`);
  console.log(`FIGURE x86 guest wget of a small body through the relay (typed → on screen): ${fetchMs} ms`);
});
