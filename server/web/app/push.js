// FCM web push for the officer app, when the force has configured a Firebase web app
// (BLUELIGHT_FCM_WEB_CONFIG): on duty, this phone's FCM token is registered as a `web`
// device, so an alert reaches it even with the app closed; off duty, it is removed.
// Push is an extra: if anything fails, the event stream still brings alerts to the open app.
const KEY = "bluelight.app.push";   // the FCM token this phone registered, for removing it
let config = null;

// Fetched once at start, so a tap on "Go on duty" can ask for permission at once, while
// the browser still counts it as the officer's gesture.
export async function loadPushConfig() {
  try {
    const r = await fetch("/app/push-config");
    config = r.ok ? await r.json() : { enabled: false };
  } catch { config = { enabled: false }; }
  return config;
}

export const pushConfigured = () => Boolean(config && config.enabled);

// Call synchronously from the tap; null when there is nothing to ask.
export function askPermission() {
  if (!pushConfigured() || !("Notification" in window)) return null;
  return Notification.requestPermission();
}

function script(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

async function messaging() {
  // The SDK is loaded only when push is configured: 80 KB nobody else needs.
  if (!window.firebase) {
    await script("vendor/firebase-app-compat.js");
    await script("vendor/firebase-messaging-compat.js");
  }
  const fb = window.firebase;
  const app = fb.apps.length ? fb.app() : fb.initializeApp(config.firebase);
  return fb.messaging(app);
}

const withTimeout = (promise, ms, what) => Promise.race([promise, new Promise((_, reject) =>
  setTimeout(() => reject(new Error(`${what} did not answer`)), ms))]);

// Register this phone for push; resolves to a note for the officer. `permission` is the
// promise askPermission() returned, or null to use only a permission already granted;
// `onDuty()` says whether the officer is still on duty once the token has come.
export async function startPush(api, permission, onDuty) {
  if (!pushConfigured()) return "";
  try {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
      throw new Error("this browser cannot receive push");
    }
    const granted = permission ? await permission : Notification.permission;
    if (granted !== "granted") throw new Error("notifications are not allowed");
    const reg = await navigator.serviceWorker.ready;   // sw.js shows the pushes
    const m = await messaging();
    // Google's endpoints may be out of reach (a force network): do not hang the duty tap.
    const token = await withTimeout(m.getToken({ vapidKey: config.vapid_key,
      serviceWorkerRegistration: reg }), 15000, "Firebase");
    if (!onDuty()) return "";   // went off duty meanwhile: nothing to register
    await api("PUT", `/v1/me/devices/${encodeURIComponent(token)}`, { platform: "web" });
    localStorage.setItem(KEY, token);
    return "Push alerts on for this phone";
  } catch (err) {
    // fetch() says only "Failed to fetch" when Google is out of reach.
    const why = err.code || (err instanceof TypeError ? "Firebase cannot be reached" : err.message);
    return `Push alerts off (${why}); alerts still arrive while this app is open`;
  }
}

// Off duty: remove the token, so this phone is not pushed (best effort: the end of the duty
// session stops pushes to it anyway).
export async function stopPush(api) {
  const token = localStorage.getItem(KEY);
  if (!token) return;
  localStorage.removeItem(KEY);
  await api("DELETE", `/v1/me/devices/${encodeURIComponent(token)}`).catch(() => {});
}
