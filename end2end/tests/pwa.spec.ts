// The desktop as an installable app that loads without the kernel: the manifest and its icons,
// Chromium's own installability verdict, a reload with the kernel down, and a kernel upgrade whose
// new desktop replaces the cached one. The worker is public/sw.js (kernel/src/assets/service_worker.rs).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from '@playwright/test';
import { test, expect } from './support/fixtures';
import { busState, openDesktop } from './support/aether';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './support/env';
import { Kernel } from './support/kernel';
import {
  CACHE_PREFIX,
  cacheNames,
  cachedPaths,
  pngSize,
  upgradedDesktop,
  waitForWorker,
  workerBuild,
} from './support/pwa';

interface ManifestIcon {
  src: string;
  sizes: string;
  type: string;
  purpose?: string;
}

const unreachable = (page: import('@playwright/test').Page) => page.getByTestId('kernel-unreachable');

test('the manifest and every icon it names are served as what they claim, and Chromium finds the page installable', async ({
  page,
  request,
  baseURL,
}) => {
  const res = await request.get('/manifest.webmanifest');
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toBe('application/manifest+json');
  const manifest = await res.json();
  expect(manifest).toMatchObject({
    name: 'Aether',
    short_name: 'Aether',
    start_url: '/',
    scope: '/',
    display: 'standalone',
  });
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
  expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/i);

  const icons = manifest.icons as ManifestIcon[];
  const pngSizes = new Set<string>();
  for (const icon of icons) {
    const got = await request.get(icon.src);
    expect(got.status(), icon.src).toBe(200);
    expect(got.headers()['content-type'], icon.src).toBe(icon.type);
    const bytes = await got.body();
    if (icon.type === 'image/png') {
      const { width, height } = pngSize(bytes);
      expect(`${width}x${height}`, `${icon.src} is the size the manifest says`).toBe(icon.sizes);
      pngSizes.add(`${icon.sizes} ${icon.purpose ?? 'any'}`);
    } else {
      expect(icon.type).toBe('image/svg+xml');
      expect(icon.sizes).toBe('any');
      const svg = bytes.toString('utf8');
      expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg.trimEnd()).toMatch(/<\/svg>$/);
    }
  }
  expect([...pngSizes].sort()).toEqual(['192x192 any', '192x192 maskable', '512x512 any', '512x512 maskable']);

  const robots = await request.get('/robots.txt');
  expect(robots.headers()['content-type']).toBe('text/plain; charset=utf-8');
  expect(await robots.text()).toContain('User-agent: *');

  await openDesktop(page);
  // The favicon is the diamond, as an SVG file of its own.
  const favicon = await page.locator('link[rel="icon"]').getAttribute('href');
  expect(favicon).toMatch(/^\/favicon-[0-9a-f]{16}\.svg$/);
  const icon = await request.get(favicon!);
  expect(icon.headers()['content-type']).toBe('image/svg+xml');
  expect(await icon.text()).toContain('fill="#7aa2f7"');

  // Playwright's contexts are off the record, and Chromium never installs from an incognito
  // window ("in-incognito"): ask from a browser with a profile of its own, as a person's is.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-profile-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    baseURL,
  });
  try {
    const tab = browser.pages()[0] ?? (await browser.newPage());
    await openDesktop(tab);
    await waitForWorker(tab);
    const cdp = await browser.newCDPSession(tab);
    const { url, errors } = await cdp.send('Page.getAppManifest');
    expect(url).toMatch(/\/manifest\.webmanifest$/);
    expect(errors, 'Chromium parses the manifest without complaint').toEqual([]);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    expect(installabilityErrors, 'Chromium reports the page installable').toEqual([]);
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

test('the service worker is never cached for good, and keeps only the desktop files of its own build', async ({
  page,
  request,
  baseURL,
}) => {
  const sw = await request.get('/sw.js');
  expect(sw.status()).toBe(200);
  expect(sw.headers()['content-type']).toBe('text/javascript; charset=utf-8');
  expect(sw.headers()['cache-control'], 'the browser must see a new build at once').toBe('no-cache');

  const build = await workerBuild(baseURL!);
  expect(build.id).toMatch(/^[0-9a-f]{16}$/);
  expect(build.shell[0]).toBe('/');
  expect(build.shell.some((p) => /_bg\.wasm$/.test(p)), 'the shell holds the wasm').toBe(true);
  expect(build.shell.some((p) => p.endsWith('.css')), 'the shell holds the style sheets').toBe(true);
  for (const route of ['/ws', '/wisp/', '/mcp', '/healthz', '/sw.js']) {
    expect(build.scope, `${route} is not a desktop file`).not.toContain(route);
  }

  await openDesktop(page);
  await waitForWorker(page);
  expect(await cacheNames(page)).toEqual([`${CACHE_PREFIX}${build.id}`]);
  // The bus kept working through the worker (its socket never passes through it).
  const reply = await page.evaluate(() => window.aether.request('kernel.ping', {}));
  expect(reply).toHaveProperty('uptime_ms');
  const cached = await cachedPaths(page, `${CACHE_PREFIX}${build.id}`);
  for (const file of build.shell) expect(cached, `the install kept ${file}`).toContain(file);
  for (const file of cached) {
    const desktopFile = file === '/' || build.scope.some((e) => (e.endsWith('/') ? file.startsWith(e) : file === e));
    expect(desktopFile, `${file} is one of the desktop's files`).toBe(true);
  }
});

test('a reload with the kernel down shows the desktop saying the kernel is unreachable, and it reconnects when the kernel is back', async ({
  page,
  ownKernel,
}) => {
  await openDesktop(page, ownKernel.baseUrl);
  await waitForWorker(page);
  await expect(unreachable(page)).toHaveCount(0);

  await ownKernel.kill();
  const response = await page.reload();
  expect(response?.fromServiceWorker(), 'the page came from the worker').toBe(true);
  await expect(unreachable(page)).toBeVisible();
  await expect(unreachable(page)).toHaveText('Kernel unreachable');
  await expect(busState(page)).toHaveAttribute('data-state', /reconnecting|offline/);
  // The whole desktop is there: the top bar's controls and the dock.
  await expect(page.getByTestId('open-launcher')).toBeVisible();
  await expect(page.getByTestId('dock-about')).toBeVisible();

  await ownKernel.start();
  await expect(busState(page), 'the bus keeps retrying and gets back').toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });
  await expect(unreachable(page)).toHaveCount(0);
  const reply = await page.evaluate(() => window.aether.request('kernel.ping', {}));
  expect(reply).toHaveProperty('uptime_ms');
});

test('after a kernel upgrade (a different build) the new shell loads, and the old build is gone from the cache', async ({
  page,
  ownKernel,
}) => {
  await openDesktop(page, ownKernel.baseUrl);
  await waitForWorker(page);
  const before = await workerBuild(ownKernel.baseUrl);
  const upgrade = await upgradedDesktop(ownKernel.baseUrl);
  await expect(page.locator(`link[href="${upgrade.oldCss}"]`)).toHaveCount(1);

  await ownKernel.kill();
  const upgraded = await Kernel.start(ownKernel.port, { AETHER_DESKTOP_DIR: upgrade.dir });
  try {
    const after = await workerBuild(upgraded.baseUrl);
    expect(after.id, 'a different build has a different id').not.toBe(before.id);
    expect(after.shell).toContain(upgrade.newCss);

    await page.reload();
    await expect(busState(page)).toHaveAttribute('data-state', 'connected');
    // The new shell, not the cached one: its style sheet is linked and applies.
    await expect(page.locator(`link[href="${upgrade.newCss}"]`)).toHaveCount(1);
    await expect(page.locator(`link[href="${upgrade.oldCss}"]`)).toHaveCount(0);
    const marker = await page.evaluate(() =>
      getComputedStyle(document.documentElement).getPropertyValue('--aether-build').trim(),
    );
    expect(marker).toBe(upgrade.marker);
    const loaded = await page.evaluate(() =>
      performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname),
    );
    expect(loaded, 'nothing of the old build was loaded').not.toContain(upgrade.oldCss);

    // The new build's worker takes over and deletes the old build's cache.
    await expect
      .poll(() => cacheNames(page), { timeout: 20_000 })
      .toEqual([`${CACHE_PREFIX}${after.id}`]);
    await page.waitForFunction(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      return !!reg && !reg.installing && !reg.waiting && navigator.serviceWorker.controller === reg.active;
    });

    // And it is the new build that loads without the kernel.
    await upgraded.kill();
    const offline = await page.reload();
    expect(offline?.fromServiceWorker()).toBe(true);
    await expect(unreachable(page)).toBeVisible();
    await expect(page.locator(`link[href="${upgrade.newCss}"]`)).toHaveCount(1);
  } finally {
    await upgraded.kill();
    fs.rmSync(upgrade.dir, { recursive: true, force: true });
  }
});
