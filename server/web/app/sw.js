// The officer app's service worker: makes the app installable, keeps its shell for a weak
// signal, and shows a push as a notification when the force has configured web push.
// API calls always go to the network: an alert must never come from a cache.
const SHELL = "bluelight-app-v1";
const FILES = ["./", "app.js", "app.css", "manifest.webmanifest", "icon.svg"];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== SHELL).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || !url.pathname.startsWith("/app/")) return;
  // Network first, the cached shell only when the network fails.
  e.respondWith(fetch(e.request).catch(() => caches.match(e.request)));
});

self.addEventListener("push", (e) => {
  const msg = e.data ? e.data.json() : {};
  const n = msg.notification || {};
  const data = msg.data || {};
  e.waitUntil(self.registration.showNotification(n.title || "Bluelight alert", {
    body: n.body || data.summary || "", tag: data.alert_id || "bluelight",
    requireInteraction: true, data }));
});

self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  e.waitUntil(self.clients.matchAll({ type: "window" }).then((list) =>
    list.length ? list[0].focus() : self.clients.openWindow("/app/")));
});
