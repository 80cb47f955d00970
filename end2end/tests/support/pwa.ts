// The installable, offline-tolerant desktop as the specs see it: the service worker, its caches, the
// icons' bytes, and a second desktop build for an upgrade. The worker is public/sw.js, served by the
// kernel with its build filled in (kernel/src/assets/service_worker.rs).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, type Page } from '@playwright/test';

/** What the kernel fills in at the top of /sw.js. */
export interface WorkerBuild {
  id: string;
  shell: string[];
  scope: string[];
}

/** The prefix of the worker's cache names; the build id follows. */
export const CACHE_PREFIX = 'aether-shell-';

/** The build a kernel's /sw.js names (throws if the line is missing). */
export async function workerBuild(baseUrl: string): Promise<WorkerBuild> {
  const text = await (await fetch(`${baseUrl}/sw.js`)).text();
  const line = text.split('\n').find((l) => l.startsWith('const BUILD = {'));
  if (!line) throw new Error(`${baseUrl}/sw.js has no build line: is the kernel serving it?`);
  return JSON.parse(line.slice('const BUILD = '.length, -1)) as WorkerBuild;
}

/** Waits until a service worker controls `page` and has activated (so its cache is complete). */
export async function waitForWorker(page: Page): Promise<void> {
  await page.waitForFunction(
    () => navigator.serviceWorker.controller !== null && navigator.serviceWorker.controller.state === 'activated',
    undefined,
    { timeout: 20_000 },
  );
}

/** The names of the page origin's caches. */
export const cacheNames = (page: Page) => page.evaluate(async () => (await caches.keys()).sort());

/** The paths a cache holds. */
export const cachedPaths = (page: Page, name: string) =>
  page.evaluate(async (name) => {
    const cache = await caches.open(name);
    return (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
  }, name);

/** Width and height of a PNG from its IHDR chunk; throws unless the bytes are a PNG. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(bytes.subarray(0, 8).equals(signature), 'the PNG signature').toBe(true);
  expect(bytes.subarray(12, 16).toString('latin1'), 'the first chunk is IHDR').toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Trunk's name for a file of `bytes`: `<stem>-<16 hex digits>.<ext>`. */
const hashedName = (stem: string, ext: string, bytes: Buffer) =>
  `${stem}-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.${ext}`;

/** A Subresource Integrity value, as Trunk writes it. */
const integrity = (bytes: Buffer) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

/** A second build of the desktop, in a folder a kernel can serve (`AETHER_DESKTOP_DIR`). */
export interface UpgradedDesktop {
  dir: string;
  /** The path of the style sheet that replaced `oldCss`. */
  newCss: string;
  oldCss: string;
  /** The value of `--aether-build` on `:root` in the new build. */
  marker: string;
}

/**
 * Writes a different build of the desktop `baseUrl` serves: its shell and top-level files as they
 * are, but with the first style sheet changed (a rule added) under a new content-hashed name, and
 * `index.html` pointing at it with its integrity, as a rebuild with a changed style sheet does. The
 * worker script goes back to its shipped form (`const BUILD = null;`) for the new kernel to fill in.
 */
export async function upgradedDesktop(baseUrl: string): Promise<UpgradedDesktop> {
  const build = await workerBuild(baseUrl);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-desktop-b-'));
  const get = async (urlPath: string): Promise<Buffer> => {
    const res = await fetch(`${baseUrl}${urlPath}`);
    if (res.status !== 200) throw new Error(`GET ${urlPath}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const write = (urlPath: string, bytes: Buffer | string) => {
    const file = path.join(dir, ...urlPath.split('/').filter(Boolean));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
  };
  // The shell, the top-level files (manifest, robots.txt, favicon) and the icons.
  const files = new Set(build.shell.filter((p) => p !== '/'));
  for (const entry of build.scope) if (!entry.endsWith('/')) files.add(entry);
  const manifest = JSON.parse((await get('/manifest.webmanifest')).toString()) as { icons: { src: string }[] };
  for (const icon of manifest.icons) files.add(icon.src);
  for (const file of files) write(file, await get(file));

  let index = (await get('/index.html')).toString();
  const link = index.match(/<link rel="stylesheet" href="(\/[^"]+\.css)"[^>]*>/);
  if (!link) throw new Error('index.html links no style sheet');
  const oldCss = link[1];
  const marker = `"b-${Date.now()}"`;
  const css = Buffer.concat([await get(oldCss), Buffer.from(`\n:root { --aether-build: ${marker}; }\n`)]);
  const newCss = `/${hashedName(path.basename(oldCss).replace(/-[0-9a-f]{16}\.css$/, ''), 'css', css)}`;
  write(newCss, css);
  fs.rmSync(path.join(dir, oldCss.slice(1)));
  const newLink = link[0]
    .replace(oldCss, newCss)
    .replace(/integrity="[^"]*"/, `integrity="${integrity(css)}"`);
  index = index.replace(link[0], newLink);
  write('/index.html', index);

  const worker = (await get('/sw.js')).toString().replace(/^const BUILD = \{.*\};$/m, 'const BUILD = null;');
  write('/sw.js', worker);
  return { dir, newCss, oldCss, marker };
}
