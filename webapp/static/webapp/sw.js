// Samby's service worker: shows what the server pushes and, on a tap, opens the page
// the notification is about. Served at /sw.js so that its scope is the whole site.

self.addEventListener("install", () => {
  // A new version takes over at once: it only shows notifications, there is no cache
  // that the old and new versions could disagree about.
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
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
