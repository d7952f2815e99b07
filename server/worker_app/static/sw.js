// Service worker of the worker app (an ES module, scope /app/): caches the app shell so the
// app opens with no network, and flushes the upload queue on Background Sync.
import { flush } from './static/queue.js';

const CACHE = 'gridpatrol-app-v2';
const SHELL = [
  '/app/', '/app/manifest.webmanifest', '/app/words.json',
  '/app/static/app.css', '/app/static/app.js', '/app/static/queue.js', '/app/static/geo.js',
  '/app/static/vendor/idb/index.js',
  '/app/static/icons/icon-192.png', '/app/static/icons/icon-512.png',
  '/office/static/vendor/leaflet/leaflet.js', '/office/static/vendor/leaflet/leaflet.css',
];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// The shell: network first (a new version shows at once when online), the cache offline.
// The API is never cached: its answers are the server's word of the moment.
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return;
  e.respondWith(fetch(e.request).then((r) => {
    if (r.ok && SHELL.includes(url.pathname)) {
      const copy = r.clone();
      caches.open(CACHE).then((c) => c.put(e.request, copy));
    }
    return r;
  }).catch(() => caches.match(e.request, { ignoreSearch: true })
    .then((hit) => hit || caches.match('/app/'))));
});

self.addEventListener('sync', (e) => {
  if (e.tag === 'flush') e.waitUntil(flush());
});
