// A resumable Server-Sent Events reader over fetch (EventSource cannot send the bearer
// token): reconnects a second after any drop, resuming with Last-Event-ID, until the page
// signs out. Shared by the dashboard (/v1/events) and the officer app (/v1/me/events).
export async function follow(path, page) {
  // page: state (token, lastEventId, stream), onEvent(event), setConn(text, cls),
  // signOut(message), and optionally onReconnect() after a drop.
  const state = page.state;
  while (state.token) {
    const ctrl = new AbortController(); state.stream = ctrl;
    const headers = { Authorization: `Bearer ${state.token}` };
    if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
    try {
      const r = await fetch(path, { headers, signal: ctrl.signal });
      if (r.status === 401) { page.signOut("Your token was refused; sign in again."); return; }
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      page.setConn("Live", "live");
      await read(r.body.getReader(), state, page.onEvent);
    } catch (err) {
      if (!state.token) return;
    }
    page.setConn("Reconnecting…", "reconnecting");
    await new Promise((ok) => setTimeout(ok, 1000));
    if (page.onReconnect) page.onReconnect();
  }
}

async function read(reader, state, onEvent) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      let id = null, data = null;
      for (const line of message.split("\n")) {
        if (line.startsWith("id: ")) id = line.slice(4);
        else if (line.startsWith("data: ")) data = line.slice(6);
      }
      if (id) state.lastEventId = id;
      if (data) onEvent(JSON.parse(data));
    }
  }
}
