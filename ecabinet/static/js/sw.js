// The service worker (served at /sw.js, scope "/", with CONFIG prepended by the server: the version,
// the shell's files and the two offline pages). It keeps only what is nobody's: static files and
// the briefcase's pages fetched without cookies. Pages and API answers of a login are never cached;
// the member's copies live encrypted in IndexedDB (briefcase.js), not here.
const CACHE = `ecabinet-shell-${CONFIG.version}`;
const KEPT = new Set([...CONFIG.assets, ...CONFIG.pages]);
const VIEWER = /^\/documents\/\d+\/view$/;
const AGENDA = /^\/(meetings(\/\d+)?|briefcase)?$/;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll([...KEPT].map((url) => new Request(url, { credentials: "omit" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

const kept = (path) => caches.open(CACHE).then((cache) => cache.match(path)).then((found) => found || Response.error());

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // the network first, always; without one, the briefcase's page for what was asked
    const page = VIEWER.test(url.pathname) ? "/briefcase/view" : (AGENDA.test(url.pathname) ? "/briefcase" : null);
    if (page) event.respondWith(fetch(request).catch(() => kept(page)));
    return;
  }
  if (KEPT.has(url.pathname) && !url.search) event.respondWith(fetch(request).catch(() => kept(url.pathname)));
});
