// Service worker of the screen pages: the page shell (HTML, JS, CSS) comes from cache when the service
// is unreachable, so a kiosk rebooted during an outage still starts; its data comes from localStorage.
// Network first, so a deployed change shows up on the next load. API calls (/v1/) are never touched.
const CACHE = "vitrine-screen-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || !url.pathname.startsWith("/screens/")) return;
  const key = url.origin + url.pathname; // never the query string: it may carry the device token
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      if (response.ok) await cache.put(key, response.clone());
      return response;
    } catch (error) {
      const cached = await cache.match(key);
      if (cached) return cached;
      throw error;
    }
  })());
});
