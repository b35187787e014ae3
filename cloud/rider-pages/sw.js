// Service worker for the rider pages (SPEC §14): the code page works offline once loaded.
// Pages and assets: network first, the cached copy when offline. API calls are never cached.
const CACHE = 'waystation-rider-v2';
const SHELL = ['/r/me', '/r/me.js', '/r/store.js', '/r/hazard.js', '/r/rider.css', '/r/vendor/qrcode.mjs', '/r/manifest.webmanifest', '/r/icon.svg'];

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== 'GET' || url.origin !== location.origin || !url.pathname.startsWith('/r/')) return;
  ev.respondWith(
    fetch(ev.request)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(ev.request, copy));
        }
        return res;
      })
      .catch(() => caches.match(ev.request, { ignoreSearch: true }).then((hit) => hit ?? Response.error())),
  );
});
