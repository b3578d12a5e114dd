// Samby's service worker: shows what the server pushes and, on a tap, opens the page
// the notification is about; without a network, shows the offline page instead of the
// browser's error. Served at /sw.js so that its scope is the whole site.

const CACHE = "samby-offline-v1";
const OFFLINE_URL = "/offline";

self.addEventListener("install", (event) => {
  // Only the offline page is cached (it carries its own styles): pages themselves are
  // always fetched fresh, so nobody ever sees a stale ride status.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.add(new Request(OFFLINE_URL, { cache: "reload" })))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  if (event.request.mode !== "navigate") return;
  event.respondWith(
    (async () => {
      try {
        return await fetch(event.request);
      } catch {
        const cache = await caches.open(CACHE);
        return (await cache.match(OFFLINE_URL)) || Response.error();
      }
    })(),
  );
});

function readMessage(data) {
  if (!data) return {};
  try {
    return data.json();
  } catch {
    return { body: data.text() };
  }
}

self.addEventListener("push", (event) => {
  const message = readMessage(event.data);
  const options = {
    body: message.body || "",
    data: { url: message.url || "/", id: message.id, kind: message.kind },
  };
  if (message.id !== undefined) {
    // The same notification pushed twice (a retry) replaces itself instead of stacking.
    options.tag = String(message.id);
  }
  event.waitUntil(self.registration.showNotification(message.title || "Samby", options));
});

function targetUrl(notification) {
  const url = new URL((notification.data && notification.data.url) || "/", self.location.origin);
  // Only our own pages: a payload must not be able to send the person elsewhere.
  return url.origin === self.location.origin ? url : new URL("/", self.location.origin);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = targetUrl(event.notification);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => client.url === url.href);
      if (open) return open.focus();
      return self.clients.openWindow(url.href);
    })(),
  );
});
