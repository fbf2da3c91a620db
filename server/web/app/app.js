// The officer app: duty, location, and the open alert as a full-screen card, live from
// /v1/me/events. Plain modules, no build step; every request carries the bearer token.
import { follow as followEvents } from "/shared/events.js";
import { authConfig, finishSignIn, startSignIn } from "/shared/oidc.js";
import { askPermission, loadPushConfig, startPush, stopPush } from "./push.js";

const $ = (sel) => document.querySelector(sel);
const FIX_EVERY_MS = 15000;   // send a fix at most this often...
const FIX_MOVED_M = 50;       // ...unless the officer has moved this far
const state = { token: null, me: null, stream: null, lastEventId: null, alert: null,
  fate: null, watch: null, lastFix: null, sentFix: null, fixTimer: null, tick: null };

class Problem extends Error {
  constructor(status, body) {
    super(body && body.detail ? body.detail : `HTTP ${status}`);
    this.status = status; this.body = body || {};
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = (r.headers.get("Content-Type") || "").includes("json") ? await r.json() : null;
  if (!r.ok) {
    if (r.status === 401) signOut("Your token was refused; sign in again.");
    throw new Problem(r.status, data);
  }
  return data;
}

function showProblem(err) {
  const box = $("#problem");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  const b = err.body || {};
  box.textContent = `${b.title || "Refused"} (${err.status || "network"}${b.code ? ", " + b.code : ""}): ${err.message}`;
  box.hidden = false;
}

const act = (fn) => async () => { showProblem(null); try { await fn(); } catch (e) { showProblem(e); } };

// -- signing in -----------------------------------------------------------------------
function takeToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    localStorage.setItem("bluelight.app.token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);   // read once
  }
  return localStorage.getItem("bluelight.app.token");
}

function streamDevice() {
  // This phone's registration for the event stream: alerts reach the open app with no push.
  let id = localStorage.getItem("bluelight.app.device");
  if (!id) {
    id = `stream:${crypto.randomUUID()}`;
    localStorage.setItem("bluelight.app.device", id);
  }
  return id;
}

function setConn(text, cls) { const c = $("#conn"); c.textContent = text; c.className = cls || ""; }

function signOut(message) {
  localStorage.removeItem("bluelight.app.token");
  state.token = null; state.me = null;
  if (state.stream) state.stream.abort();
  stopLocation();
  $("#home").hidden = true; $("#alert").hidden = true; $("#signin").hidden = false;
  $("#who").textContent = "Bluelight";
  setConn(message || "Signed out", "");
}

async function signIn(token) {
  state.token = token;
  try {
    state.me = await api("GET", "/v1/me");
    await api("PUT", `/v1/me/devices/${encodeURIComponent(streamDevice())}`, { platform: "stream" });
  } catch (err) {
    if (state.token) { $("#signin").hidden = false; showProblem(err); }
    return;
  }
  $("#signin").hidden = true; $("#home").hidden = false;
  $("#who").textContent = `${state.me.callsign} · ${state.me.name}`;
  state.templates = (await api("GET", "/v1/reply-templates").catch(() => ({ templates: {} }))).templates;
  renderDuty();
  if (state.me.on_duty) { startLocation(); pushOn(null); }
  await refreshAlert();
  follow();
}

// -- duty, status and location ----------------------------------------------------------
const STATUS = { available: "Available", committed: "Responding", on_scene: "On scene",
  unavailable: "Unavailable" };

function renderDuty() {
  const me = state.me;
  $("#duty-state").textContent = me.on_duty ? "On duty" : "Off duty";
  $("#duty-toggle").textContent = me.on_duty ? "Go off duty" : "Go on duty";
  $("#status-state").textContent = me.on_duty ? `Status: ${STATUS[me.status] || me.status}` : "";
  $("#unavailable").hidden = !me.on_duty || me.status !== "available";
  $("#available").hidden = !me.on_duty || me.status !== "unavailable";
}

async function setDuty(onDuty) {
  const permission = onDuty ? askPermission() : null;   // still inside the officer's tap
  if (!onDuty) await stopPush(api);   // while this session's token is still accepted
  state.me = await api("PUT", "/v1/me/duty", { on_duty: onDuty });
  if (onDuty) {
    // Work on a token bound to this duty session: it dies with the session, so a phone
    // left behind stops working when the officer goes off duty elsewhere.
    if (state.me.session_token) state.token = state.me.session_token;
    await api("PUT", `/v1/me/devices/${encodeURIComponent(streamDevice())}`, { platform: "stream" });
  } else {
    state.token = localStorage.getItem("bluelight.app.token");
  }
  renderDuty();
  if (onDuty) { startLocation(); pushOn(permission); } else { stopLocation(); setPushNote(""); }
}

function setPushNote(text) { $("#push-state").textContent = text; }

function pushOn(permission) {
  // Not awaited: a permission prompt the officer has not answered must not hold up duty.
  startPush(api, permission, () => Boolean(state.me && state.me.on_duty)).then(setPushNote);
}

async function setStatus(status) {
  state.me = await api("PUT", "/v1/me/status", { status });
  renderDuty();
}

function metres(a, b) {
  const rad = Math.PI / 180, dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

function startLocation() {
  if (state.watch !== null || !navigator.geolocation) {
    if (!navigator.geolocation) $("#fix-state").textContent = "This browser cannot share location.";
    return;
  }
  state.watch = navigator.geolocation.watchPosition((pos) => {
    state.lastFix = { lat: pos.coords.latitude, lon: pos.coords.longitude,
      accuracy_m: pos.coords.accuracy };
    const moved = state.sentFix ? metres(state.sentFix, state.lastFix) : Infinity;
    const since = state.sentFix ? Date.now() - state.sentFix.at : Infinity;
    if (moved >= FIX_MOVED_M || since >= FIX_EVERY_MS) sendFix();
    renderAlert();
  }, (err) => { $("#fix-state").textContent = `Location unavailable: ${err.message}`; },
  { enableHighAccuracy: true, maximumAge: 10000 });
  // A standing officer's phone reports no movement: repeat the fix so it stays fresh.
  state.fixTimer = setInterval(() => { if (state.lastFix) sendFix(); }, FIX_EVERY_MS);
}

function stopLocation() {
  if (state.watch !== null) navigator.geolocation.clearWatch(state.watch);
  clearInterval(state.fixTimer);
  state.watch = null; state.fixTimer = null; state.sentFix = null;
  $("#fix-state").textContent = "";
}

async function sendFix() {
  const fix = state.lastFix;
  state.sentFix = { ...fix, at: Date.now() };
  try {
    await api("PUT", "/v1/me/location", { lat: fix.lat, lon: fix.lon,
      accuracy_m: Math.round(fix.accuracy_m), recorded_at: new Date().toISOString() });
    $("#fix-state").textContent = `Location shared (±${Math.round(fix.accuracy_m)} m)`;
  } catch (err) { state.sentFix = null; showProblem(err); }
}

// -- the alert card -------------------------------------------------------------------
async function refreshAlert() {
  const items = (await api("GET", "/v1/me/alerts")).items;
  const rank = { P1: 1, P2: 2, P3: 3, P4: 4 };
  items.sort((a, b) => rank[a.priority] - rank[b.priority] || a.created_at.localeCompare(b.created_at));
  if (items.length) { state.alert = items[0]; state.fate = null; }
  else if (state.alert && !state.fate) state.alert = null;   // gone without an event we saw
  renderAlert();
}

function renderAlert() {
  const card = $("#alert"), a = state.alert;
  if (!a) { card.hidden = true; clearInterval(state.tick); state.tick = null; return; }
  const inc = a.incident || {};
  card.hidden = false;
  card.className = state.fate ? "done" : a.priority;
  $("#alert-title").textContent =
    `${a.priority} ${(inc.category || "").replaceAll("_", " ")}${a.kind === "assignment" ? " (assigned to you)" : ""}`;
  $("#alert-summary").textContent = inc.summary || "";
  const loc = inc.location;
  $("#alert-where").textContent = loc ? `${inc.neighbourhood_id || "outside any neighbourhood"} (${loc.lat.toFixed(5)}, ${loc.lon.toFixed(5)})` : (inc.neighbourhood_id || "unknown");
  $("#alert-distance").textContent = loc && state.lastFix
    ? `${Math.round(metres(state.lastFix, loc))} m` : "unknown";
  const maps = $("#maps");
  maps.hidden = !loc;
  if (loc) maps.href = `geo:${loc.lat},${loc.lon}?q=${loc.lat},${loc.lon}`;
  const pending = !state.fate;
  const responding = state.fate === "mine" && state.me && state.me.status !== "available";
  $("#ack").hidden = !pending; $("#decline").hidden = !pending;
  $("#onscene").hidden = !(responding && state.me.status === "committed");
  $("#clear").hidden = !responding;
  $("#dismiss").hidden = pending || responding;
  $("#alert-state").textContent = state.fateText || "";
  renderReplies(responding);
  tickDeadline();
  if (!state.tick) state.tick = setInterval(tickDeadline, 1000);
}

function renderReplies(responding) {
  // Once the officer has taken it, one tap tells the poster help is coming.
  const box = $("#reply-buttons"), names = Object.keys(state.templates || {});
  $("#replies").hidden = !responding || !names.length;
  if (box.dataset.incident === (state.alert && state.alert.incident_id)) return;
  box.dataset.incident = state.alert ? state.alert.incident_id : "";
  box.replaceChildren(...names.map((name) => {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = state.templates[name]; b.title = name;
    b.addEventListener("click", act(() => reply(name)));
    return b;
  }));
  $("#reply-state").textContent = "";
}

async function reply(template) {
  const r = await api("POST", `/v1/incidents/${state.alert.incident_id}/replies`, { template });
  $("#reply-state").textContent = r.status === "sent" ? "Reply sent to the poster"
    : `Reply not sent: ${r.reason || r.status}`;
}

function tickDeadline() {
  const a = state.alert;
  if (!a) return;
  if (state.fate || !a.deadline) { $("#alert-deadline").textContent = "–"; return; }
  const left = Math.max(0, Math.round((Date.parse(a.deadline) - Date.now()) / 1000));
  $("#alert-deadline").textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

function settle(fate, text) { state.fate = fate; state.fateText = text; renderAlert(); }

async function acknowledge() {
  try {
    await api("POST", `/v1/alerts/${state.alert.id}/ack`);
  } catch (err) {
    if (err.status === 409) { settle("taken", err.message); return; }
    throw err;
  }
  state.me = await api("GET", "/v1/me");
  renderDuty();
  settle("mine", "You are responding");
}

async function decline() {
  await api("POST", `/v1/alerts/${state.alert.id}/decline`, {});
  state.alert = null; state.fate = null;
  await refreshAlert();
}

async function onScene() {
  await setStatus("on_scene");
  settle("mine", "On scene");
}

async function clearIncident() {
  await setStatus("available");
  state.alert = null; state.fate = null; state.fateText = "";
  await refreshAlert();
}

// -- the live stream ------------------------------------------------------------------
function follow() {
  return followEvents("/v1/me/events", { state, setConn, signOut,
    onEvent: (e) => onEvent(e).catch(showProblem),
    onReconnect: () => refreshAlert().catch(() => {}) });   // what happened meanwhile
}

async function onEvent(e) {
  if (e.kind === "device_moved") {   // a phone this officer signed out of was picked up
    $("#push-state").textContent = `A phone you signed out of now alerts ${e.data.to}.`;
    return;
  }
  const mine = state.alert && (e.alert_id === state.alert.id || e.incident_id === state.alert.incident_id);
  if (e.kind === "alert_sent" || e.kind === "assigned") { if (!state.fate || !mine) await refreshAlert(); return; }
  if (!mine) return;
  const me = state.me && state.me.id;
  if (e.kind === "acknowledged" && e.actor !== me) settle("taken", `Taken by ${e.actor}`);
  else if (e.kind === "alert_expired" && !state.fate) settle("gone", "This alert has expired");
  else if (e.kind === "alert_cancelled" && !state.fate) settle("gone", "This alert was withdrawn");
  else if (e.kind === "alert_declined_all" && !state.fate) settle("gone", "Everyone declined; it went on");
  else if (e.kind === "resolved") {
    state.me = await api("GET", "/v1/me"); renderDuty();
    settle("gone", "The incident was resolved");
  }
}

// -- wiring ---------------------------------------------------------------------------
$("#signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = $("#token").value.trim();
  localStorage.setItem("bluelight.app.token", token);
  signIn(token);
});
$("#signout").addEventListener("click", act(async () => {
  if (state.me && state.me.on_duty) await setDuty(false);
  signOut();
}));
$("#duty-toggle").addEventListener("click", act(() => setDuty(!state.me.on_duty)));
$("#unavailable").addEventListener("click", act(() => setStatus("unavailable")));
$("#available").addEventListener("click", act(() => setStatus("available")));
$("#ack").addEventListener("click", act(acknowledge));
$("#decline").addEventListener("click", act(decline));
$("#onscene").addEventListener("click", act(onScene));
$("#clear").addEventListener("click", act(clearIncident));
$("#dismiss").addEventListener("click", act(async () => { state.alert = null; state.fate = null; state.fateText = ""; await refreshAlert(); }));

if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
async function start() {
  const [cfg] = await Promise.all([authConfig(), loadPushConfig()]);
  if (cfg.mode === "oidc") {
    $("#oidc-box").hidden = false;
    $("#oidc-signin").addEventListener("click", () => startSignIn(cfg));
    try {
      const token = await finishSignIn(cfg);
      if (token) localStorage.setItem("bluelight.app.token", token);
    } catch (err) {
      $("#signin").hidden = false;
      setConn(err.message, "");
      return;
    }
  }
  const saved = takeToken();
  if (saved) signIn(saved); else { $("#signin").hidden = false; }
}
start();
