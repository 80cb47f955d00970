// The desktop's service worker: a reload with the kernel down still shows the desktop, and a new
// kernel's desktop replaces the old one on the next load, never mixed with it.
//
// The kernel serves this file at /sw.js with the line `const BUILD = null;` replaced by this
// build: `{id, shell, scope}` (kernel/src/assets/service_worker.rs). `id` changes whenever any
// file of the desktop does, so a new kernel's /sw.js differs byte for byte and the browser
// installs it on the next load. Its install keeps `shell` (index.html and everything the first
// load needs) in the cache `aether-shell-<id>`; its activation deletes every other build's cache.
//
// Requests:
// - page loads: the network first, so an online page always gets the kernel's own index.html;
//   without the kernel, this build's index.html from the cache.
// - the desktop's files (paths under `scope`): a cached file whose name carries a content hash
//   (served `immutable`) comes from the cache, since it can never change; any other file comes
//   from the network first and is kept for offline loads (Monaco, v86 and the app chunks are
//   kept this way on first use).
// - anything else (/ws, /wisp, /mcp, /api, /healthz, other methods, other origins, ranges) is
//   never touched: the browser sends it as if there were no worker.
//
// Served by anything but the kernel (`trunk serve`), BUILD stays null and the worker does nothing.
const BUILD = null;

const CACHE_PREFIX = 'aether-shell-';

if (BUILD) {
  const cacheName = CACHE_PREFIX + BUILD.id;

  self.addEventListener('install', (event) => {
    event.waitUntil(
      (async () => {
        const cache = await caches.open(cacheName);
        // Revalidated against the kernel (ETags), so nothing comes from an older HTTP cache entry.
        await cache.addAll(BUILD.shell.map((url) => new Request(url, { cache: 'no-cache' })));
        await self.skipWaiting();
      })(),
    );
  });

  self.addEventListener('activate', (event) => {
    event.waitUntil(
      (async () => {
        for (const name of await caches.keys()) {
          if (name.startsWith(CACHE_PREFIX) && name !== cacheName) await caches.delete(name);
        }
        await self.clients.claim();
      })(),
    );
  });

  /** True for a path the desktop's files hold: one of `scope`'s files, or under one of its folders. */
  const isDesktopFile = (path) =>
    path !== '/sw.js' && BUILD.scope.some((entry) => (entry.endsWith('/') ? path.startsWith(entry) : path === entry));

  const isImmutable = (response) => (response.headers.get('cache-control') || '').includes('immutable');

  async function pageLoad(request) {
    try {
      return await fetch(request);
    } catch (unreachable) {
      const cached = await (await caches.open(cacheName)).match('/');
      if (cached) return cached;
      throw unreachable;
    }
  }

  async function desktopFile(request) {
    const cache = await caches.open(cacheName);
    const cached = await cache.match(request);
    if (cached && isImmutable(cached)) return cached;
    try {
      const response = await fetch(request);
      if (response.status === 200) await cache.put(request, response.clone());
      return response;
    } catch (unreachable) {
      if (cached) return cached;
      throw unreachable;
    }
  }

  self.addEventListener('fetch', (event) => {
    const request = event.request;
    const url = new URL(request.url);
    if (request.method !== 'GET' || url.origin !== self.location.origin || request.headers.has('range')) return;
    if (request.mode === 'navigate') {
      if (url.pathname === '/' || url.pathname === '/index.html') event.respondWith(pageLoad(request));
      return;
    }
    if (isDesktopFile(url.pathname)) event.respondWith(desktopFile(request));
  });
} else {
  self.addEventListener('install', () => self.skipWaiting());
}
