// The control-room dashboard: the open incidents, live from /v1/events, and the actions
// the API offers. Plain modules, no build step; every request carries the bearer token.
import { IncidentMap } from "./map.js";
import { follow as followEvents } from "/shared/events.js";
import { authConfig, finishSignIn, startSignIn } from "/shared/oidc.js";

const $ = (sel) => document.querySelector(sel);
const RANK = { P1: 1, P2: 2, P3: 3, P4: 4 };
const state = { map: null, token: null, incidents: new Map(), lastEventId: null, selected: null,
  pending: new Set(), closedIds: new Set(), muted: false, stream: null, flush: null };

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
  if (r.headers.get("Date")) state.serverNow = Date.parse(r.headers.get("Date"));
  if (r.headers.get("X-Last-Event-ID")) state.listEventId = r.headers.get("X-Last-Event-ID");
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

// -- signing in -----------------------------------------------------------------------
function takeTokenFromFragment() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("bluelight.token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);   // read once
  }
  return sessionStorage.getItem("bluelight.token");
}

function signOut(message) {
  sessionStorage.removeItem("bluelight.token");
  state.token = null;
  if (state.stream) state.stream.abort();
  $("#board").hidden = true; $("#signout").hidden = true; $("#signin").hidden = false;
  setConn(message || "Signed out", "");
}

async function signIn(token) {
  state.token = token;
  $("#signin").hidden = true; $("#board").hidden = false; $("#signout").hidden = false;
  try {
    await loadQueue();
    await loadMap();
  } catch (err) { showProblem(err); return; }
  follow();
}

async function loadMap() {
  if (!state.map) state.map = new IncidentMap($("#map"), (id) => open(id));
  state.map.setNeighbourhoods((await api("GET", "/v1/neighbourhoods?geometry=true")).items);
  await loadOfficers();
}

async function loadOfficers() {
  if (state.map) state.map.setOfficers((await api("GET", "/v1/officers")).items);
}

// -- the queue ------------------------------------------------------------------------
async function loadQueue() {
  // Every open incident, page by page (a wall screen may hold thousands in a surge).
  // Events from before this read (the stream replays them on first connect) are already
  // in it: only newer ones are applied (with a margin for the Date header's whole seconds).
  state.replayedBefore = null;
  let cursor = null, first = true;
  do {
    const page = await api("GET", "/v1/incidents?limit=500" + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""));
    // The stream resumes after the last event the first page had seen: nothing older is
    // replayed (with a thousand open incidents that replay was a surge of its own).
    if (first && state.lastEventId === null && state.listEventId) state.lastEventId = state.listEventId;
    first = false;
    for (const inc of page.items) if (inc.status !== "resolved") state.incidents.set(inc.id, inc);
    cursor = page.next_cursor;
  } while (cursor);
  state.replayedBefore = state.serverNow ? state.serverNow - 2000 : null;
  render();
}

// Most urgent first; escalations first within a priority; the review queue (P3), which a
// third of ordinary chatter reaches, by the model's score (the likeliest cry for help on
// top); then the newest.
function sorted() {
  return [...state.incidents.values()].sort((a, b) =>
    (RANK[a.priority] - RANK[b.priority]) ||
    ((b.status === "escalated") - (a.status === "escalated")) ||
    (a.priority === "P3" ? (b.score ?? 1) - (a.score ?? 1) : 0) ||
    (a.first_seen_at < b.first_seen_at ? 1 : -1));
}

function ago(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

function until(iso) {
  if (!iso) return "";
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  return s <= 0 ? "due now" : `in ${s} s`;
}

function cell(tr, text, cls) {
  const td = tr.insertCell(); td.textContent = text; if (cls) td.className = cls; return td;
}

function button(parent, label, handler) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = label;
  b.addEventListener("click", (e) => { e.stopPropagation(); handler(); });
  parent.append(b);
}

// Rows are kept by incident and rebuilt only when what they show changed: with a thousand
// open incidents, one new incident must not rebuild a thousand rows and their buttons.
const rowCache = new Map();

function rowKey(inc) {
  return [inc.priority, inc.status, inc.taken_by, inc.assigned_to, inc.alerted, inc.category,
    inc.neighbourhood_id, inc.summary, inc.report_count, inc.first_seen_at, inc.next_step_at,
    inc.score,
    inc.id === state.selected].join("\u0001");
}

function render() {
  const body = $("#queue tbody");
  const rows = sorted();
  const live = new Set();
  const trs = rows.map((inc) => {
    live.add(inc.id);
    const key = rowKey(inc), hit = rowCache.get(inc.id);
    if (hit && hit.key === key) return hit.tr;
    const tr = buildRow(inc);
    rowCache.set(inc.id, { key, tr });
    return tr;
  });
  for (const id of rowCache.keys()) if (!live.has(id)) rowCache.delete(id);
  const focused = document.activeElement;
  placeRows(body, trs);
  if (focused && focused.isConnected && focused !== document.activeElement) focused.focus();
  $("#count").textContent = `(${rows.length})`;
  if (state.map) state.map.setIncidents(rows);
  $("#empty").hidden = rows.length > 0;
}

// Put the rows in order with as few DOM moves as possible: a new incident among a thousand
// is one insertion, not a thousand rows detached and laid out again.
function placeRows(body, trs) {
  const wanted = new Set(trs);
  for (const tr of [...body.rows]) if (!wanted.has(tr)) tr.remove();
  let at = body.firstElementChild;
  for (const tr of trs) {
    if (tr === at) { at = at.nextElementSibling; continue; }
    body.insertBefore(tr, at);
  }
}

function unread(lang) {
  if (lang === "und") return "in a language triage could not tell";
  let name = lang;
  try { name = new Intl.DisplayNames(["en"], { type: "language" }).of(lang) || lang; } catch { /* an odd tag */ }
  return `in ${name}, which the model does not read`;
}

function buildRow(inc) {
  const tr = document.createElement("tr");
  tr.dataset.id = inc.id; tr.tabIndex = 0;
  tr.setAttribute("aria-label", `${inc.priority} ${inc.category} ${inc.summary || ""}`);
  if (inc.status === "escalated") tr.classList.add("escalated");
  if (inc.id === state.selected) tr.classList.add("selected");
  // A review's score says how sure the model is: an unscored one (a language it does not
  // read) is shown as such, and sorted with the surest.
  cell(tr, inc.priority === "P3" ? `P3 · ${inc.score == null ? "not scored" : inc.score.toFixed(2)}`
    : inc.priority, `prio ${inc.priority}`);
  const alerted = (inc.alerted || []).join(", ");
  cell(tr, inc.status + (inc.taken_by ? ` (taken by ${inc.taken_by})` : "")
    + (inc.assigned_to ? ` (assigned to ${inc.assigned_to})` : "")
    + (alerted && !inc.assigned_to && inc.status !== "acknowledged" ? `; alerted ${alerted}` : ""));
  cell(tr, inc.category);
  cell(tr, inc.neighbourhood_id || "unplaced");
  cell(tr, inc.summary || "", "summary");
  cell(tr, String(inc.report_count));
  cell(tr, ago(inc.first_seen_at)).dataset.since = inc.first_seen_at || "";
  cell(tr, until(inc.next_step_at)).dataset.due = inc.next_step_at || "";
  const actions = cell(tr, "", "actions");
  if (inc.status === "escalated" && !inc.taken_by) button(actions, "Take", () => take(inc.id));
  button(actions, "Assign", () => assign(inc.id));
  button(actions, "Resolve", () => resolve(inc.id));
  tr.addEventListener("click", () => open(inc.id));
  return tr;
}

// -- live updates -----------------------------------------------------------------------
function setConn(text, cls) { const c = $("#conn"); c.textContent = text; c.className = cls; }

function follow() {
  return followEvents("/v1/events", { state, onEvent, setConn, signOut });
}

function onEvent(event) {
  const id = event.incident_id;
  if (!id) return;
  if (state.replayedBefore && Date.parse(event.at) < state.replayedBefore) return;
  if (event.kind === "resolved") {
    state.pending.delete(id); state.closedIds.add(id);
    if (state.incidents.delete(id)) render();
    return;
  }
  if (event.kind === "escalated") alarm();
  if (!state.closedIds.has(id)) state.pending.add(id);
  scheduleRefresh();
}

// Changed incidents are read at once, after the events that arrived together (a
// microtask, not a timer: browsers delay timers by a second or more in a tab that is not in
// front, and a control room's tab often is not). While a read is in flight, more changes
// gather and are read together when it ends, so a surge costs a few reads, not one each.
function scheduleRefresh() {
  if (state.refreshing || state.refreshQueued || state.flush) return;
  state.refreshQueued = true;
  queueMicrotask(() => { state.refreshQueued = false; refreshPending(); });
}

async function refreshPending() {
  state.flush = null;
  if (state.refreshing) return;
  state.refreshing = true;
  try { await readPending(); } finally {
    state.refreshing = false;
    if (state.pending.size) scheduleRefresh();
  }
}

async function readPending() {
  const ids = [...state.pending]; state.pending.clear();
  if (ids.length > 50) {   // a surge: one paged list read instead of a read per incident
    try {
      const fresh = new Map();
      let cursor = null;
      do {
        const page = await api("GET", "/v1/incidents?limit=500" + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""));
        for (const inc of page.items) if (inc.status !== "resolved") fresh.set(inc.id, inc);
        cursor = page.next_cursor;
      } while (cursor);
      state.incidents = fresh;
    } catch (err) { retryLater(ids, err); }
    render();
    return;
  }
  await Promise.all(ids.map(async (id) => {
    try {
      const d = await api("GET", `/v1/incidents/${id}`);
      if (d.incident.status === "resolved") state.incidents.delete(id);
      else state.incidents.set(id, d.incident);
      if (state.selected === id) showDetail(d);
    } catch (err) { if (err.status !== 404) retryLater([id], err); }
  }));
  render();
}

function retryLater(ids, err) {
  // Rate-limited or the server is busy: nothing is dropped, it is read again shortly.
  for (const id of ids) state.pending.add(id);
  const wait = err && err.status === 429 ? 1500 : 1000;
  if (!state.flush) state.flush = setTimeout(refreshPending, wait);
}

function alarm() {
  // One tone at most every two seconds, on one audio context: a surge of escalations must
  // not open an audio device per incident.
  if (state.muted || Date.now() - (state.alarmAt || 0) < 2000) return;
  state.alarmAt = Date.now();
  try {
    state.audio = state.audio || new AudioContext();
    const osc = state.audio.createOscillator();
    osc.frequency.value = 880; osc.connect(state.audio.destination); osc.start();
    osc.stop(state.audio.currentTime + 0.3);
  } catch (err) { /* no audio device: the row still stands out */ }
}

// -- actions ------------------------------------------------------------------------------
async function act(fn) {
  showProblem(null);
  try { await fn(); } catch (err) { showProblem(err); }
}

function take(id) {
  return act(async () => {
    try {
      await api("POST", `/v1/escalations/${id}/take`);
    } finally {   // taken by us or by someone else: show who has it now
      state.pending.add(id); await refreshPending();
    }
  });
}

function resolve(id) {
  const dialog = $("#resolve-dialog");
  $("#note").value = "";
  dialog.onclose = () => {
    if (dialog.returnValue !== "ok") return;
    const body = { outcome: $("#outcome").value };
    if ($("#note").value.trim()) body.note = $("#note").value.trim();
    act(async () => {
      await api("POST", `/v1/incidents/${id}/resolve`, body);
      state.incidents.delete(id); state.closedIds.add(id); render();
    });
  };
  dialog.showModal();
}

function distanceKm(a, b) {
  const rad = Math.PI / 180, dlat = (b.lat - a.lat) * rad, dlon = (b.lon - a.lon) * rad;
  const h = Math.sin(dlat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dlon / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(h));
}

function assign(id) {
  act(async () => {
    const inc = state.incidents.get(id);
    const officers = (await api("GET", "/v1/officers")).items.filter((o) => o.on_duty);
    const far = (o) => (inc && inc.location && o.location ? distanceKm(inc.location, o.location) : Infinity);
    officers.sort((a, b) => far(a) - far(b));
    const select = $("#officer");
    select.replaceChildren(...officers.map((o) => {
      const opt = document.createElement("option");
      const km = far(o);
      opt.value = o.id;
      opt.textContent = `${o.callsign} ${o.name}` + (km < Infinity ? ` — ${km.toFixed(1)} km` : "")
        + (o.location ? `, fix ${Math.round(o.location.age_s)} s old` : ", no fix");
      return opt;
    }));
    const dialog = $("#assign-dialog");
    dialog.onclose = () => {
      if (dialog.returnValue !== "ok" || !select.value) return;
      act(async () => {
        await api("POST", `/v1/incidents/${id}/assign`, { officer_id: select.value });
        state.pending.add(id); await refreshPending();
      });
    };
    dialog.showModal();
  });
}

// -- detail --------------------------------------------------------------------------------
async function open(id) {
  state.selected = id; render();
  await act(async () => showDetail(await api("GET", `/v1/incidents/${id}`)));
}

function item(list, text, href) {
  const li = document.createElement("li");
  li.textContent = text;
  if (href) { const a = document.createElement("a"); a.href = href; a.textContent = " original post";
    a.rel = "noopener noreferrer"; a.target = "_blank"; li.append(a); }
  list.append(li);
  return li;
}

async function reply(incidentId, reportId) {
  await act(async () => {
    const templates = (await api("GET", "/v1/reply-templates")).templates;
    const select = $("#reply-template");
    select.replaceChildren(...Object.entries(templates).map(([name, text]) => {
      const opt = document.createElement("option"); opt.value = name; opt.textContent = text;
      return opt;
    }));
    $("#reply-text").value = "";
    const dialog = $("#reply-dialog");
    dialog.onclose = () => {
      if (dialog.returnValue !== "ok") return;
      const own = $("#reply-text").value.trim();
      const body = own ? { report_id: reportId, text: own } : { report_id: reportId, template: select.value };
      act(async () => {
        await api("POST", `/v1/incidents/${incidentId}/replies`, body);
        showDetail(await api("GET", `/v1/incidents/${incidentId}`));
      });
    };
    dialog.showModal();
  });
}

function showDetail(d) {
  const inc = d.incident;
  $("#detail").hidden = false;
  $("#detail-title").textContent = `Incident ${inc.id}: ${inc.priority} ${inc.category}`;
  const facts = $("#detail-facts"); facts.replaceChildren();
  for (const [k, v] of [["Status", inc.status], ["Neighbourhood", inc.neighbourhood_id || "unplaced"],
    ["First seen", inc.first_seen_at], ["Posts", inc.report_count], ["Acknowledged by", inc.acknowledged_by],
    ["Taken by", inc.taken_by], ["Assigned to", inc.assigned_to]]) {
    if (v === null || v === undefined) continue;
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = String(v);
    facts.append(dt, dd);
  }
  const reports = $("#detail-reports"); reports.replaceChildren();
  for (const r of d.reports) {
    // The cues say why triage put it where it is (the words that raised the score, a rule,
    // `kind:self_harm 0.41`, `near:self_harm 0.68`, `context:follows self_harm`...).
    const why = (r.cues || []).length ? `; why: ${r.cues.join(", ")}` : "";
    // A post the model could not read says in what language, so the operator knows whom
    // to ask (an interpreter, a colleague) before reading it as nothing.
    const score = r.score != null ? `score ${r.score}`
      : r.lang ? `not scored: ${unread(r.lang)}` : "score n/a";
    const li = item(reports, `${r.author || r.source}: ${r.text || "(removed)"} [${r.priority}, ${score}${why}]`, r.url);
    button(li, "Reply", () => reply(inc.id, r.id));
  }
  const replies = $("#detail-replies"); replies.replaceChildren();
  for (const x of d.replies || []) item(replies, `${x.status}: ${x.text}${x.reason ? " (" + x.reason + ")" : ""} by ${x.requested_by}`);
  const alerts = $("#detail-alerts"); alerts.replaceChildren();
  for (const a of d.alerts) item(alerts, `wave ${a.wave} to ${a.recipients.join(", ")}: ${a.status}`
    + ` (${(a.deliveries || []).map((x) => x.status).join(", ") || "no devices"})`);
  const timeline = $("#detail-timeline"); timeline.replaceChildren();
  for (const e of d.timeline) item(timeline, `${e.at} ${e.kind}${e.actor ? " by " + e.actor : ""}`);
}

// -- keyboard ----------------------------------------------------------------------------------
function move(step) {
  const rows = sorted(); if (!rows.length) return;
  const i = rows.findIndex((r) => r.id === state.selected);
  state.selected = rows[Math.max(0, Math.min(rows.length - 1, i + step))].id;
  render();
  const tr = document.querySelector(`tr[data-id="${state.selected}"]`); if (tr) tr.focus();
}

document.addEventListener("keydown", (e) => {
  if ($("#board").hidden || e.target.closest("dialog, textarea, input, select")) return;
  if (e.key === "j") move(1);
  else if (e.key === "k") move(-1);
  else if (e.key === "Enter" && state.selected) open(state.selected);
  else if (e.key === "t" && state.selected) take(state.selected);
});

$("#signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("#token").value.trim();
  if (token) { sessionStorage.setItem("bluelight.token", token); signIn(token); }
});
$("#signout").addEventListener("click", () => signOut());
$("#close-detail").addEventListener("click", () => { state.selected = null; $("#detail").hidden = true; render(); });
$("#mute").addEventListener("click", (e) => {
  state.muted = !state.muted;
  e.target.setAttribute("aria-pressed", String(state.muted));
  e.target.textContent = state.muted ? "Unmute alarm" : "Mute alarm";
});
setInterval(() => { if (state.token) loadOfficers().catch(() => {}); }, 15000);

// Ages and countdowns tick in place (re-rendering would take the keyboard focus away).
// Only changed text is written: a write to any cell makes the browser lay the table out.
setInterval(() => {
  const tick = (td, text) => { if (td.textContent !== text) td.textContent = text; };
  for (const td of document.querySelectorAll("td[data-since]")) tick(td, ago(td.dataset.since));
  for (const td of document.querySelectorAll("td[data-due]")) tick(td, until(td.dataset.due));
}, 1000);

async function start() {
  const cfg = await authConfig();
  if (cfg.mode === "oidc") {
    $("#oidc-box").hidden = false;
    $("#oidc-signin").addEventListener("click", () => startSignIn(cfg));
    try {
      const token = await finishSignIn(cfg);
      if (token) sessionStorage.setItem("bluelight.token", token);
    } catch (err) {
      signOut(err.message);
      return;
    }
  }
  const saved = takeTokenFromFragment();
  if (saved) signIn(saved); else signOut("Signed out");
}
start();
