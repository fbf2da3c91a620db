// The officer app's service worker: makes the app installable, keeps its shell for a weak
// signal, and shows a push as a notification when the force has configured web push.
// API calls always go to the network: an alert must never come from a cache.
// A new SHELL name when FILES change, so activation drops the old cache.
const SHELL = "bluelight-app-v2";
const FILES = ["./", "app.js", "push.js", "app.css", "manifest.webmanifest", "icon.svg"];

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

// FCM hands the browser {notification, data, fcmOptions} (the shape firebase-messaging's own
// service worker reads); this worker shows it itself, so it needs no SDK.
self.addEventListener("push", (e) => {
  let msg = {};
  try { msg = e.data ? e.data.json() : {}; } catch { msg = {}; }
  e.waitUntil(show(msg.notification || {}, msg.data || {}, msg.fcmOptions || {}));
});

function show(n, data, fcm) {
  const tag = n.tag || data.alert_id || "bluelight";
  if (data.type === "alert_taken" || data.type === "alert_closed") {
    // A silent update: the alert is no longer this officer's. Replace its notification
    // quietly (Chrome shows a generic one for a push that shows none).
    const body = data.type === "alert_taken" ? `Taken by ${data.taken_by || "another officer"}`
      : `This alert is ${data.reason || "closed"}`;
    return self.registration.showNotification("Bluelight", { body, tag, silent: true,
      data: { ...data, link: fcm.link } });
  }
  return self.registration.showNotification(n.title || "Bluelight alert", {
    body: n.body || data.summary || "", tag, icon: "icon.svg", renotify: true,
    requireInteraction: true, data: { ...data, link: fcm.link } });
}

function target(link) {
  // Only ever open this app: a link from a payload is not trusted to lead elsewhere.
  try {
    const url = new URL(link, self.registration.scope);
    if (url.origin === self.location.origin && url.pathname.startsWith("/app/")) return url.href;
  } catch { /* no link */ }
  return new URL("./", self.registration.scope).href;
}

self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const url = target((e.notification.data || {}).link);
  e.waitUntil(self.clients.matchAll({ type: "window" }).then((list) =>
    list.length ? list[0].focus() : self.clients.openWindow(url)));
});
