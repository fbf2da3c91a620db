// Sign-in for the dashboard and the officer app: the embedded auth takes a pasted token;
// with the force's identity provider, the OAuth 2.0 authorization-code flow with PKCE
// (RFC 7636): no client secret in the page, the code is useless without the verifier kept
// in this tab, and the state check refuses a sign-in this tab did not start.
const KEY = "bluelight.oidc";

export async function authConfig() {
  const r = await fetch("/auth/config");
  return r.ok ? r.json() : { mode: "embedded" };
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function random() {
  return b64url(crypto.getRandomValues(new Uint8Array(32)));
}

function here() {
  return location.origin + location.pathname;
}

export async function startSignIn(cfg) {
  const verifier = random(), state = random();
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(KEY, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({ response_type: "code", client_id: cfg.client_id,
    redirect_uri: here(), scope: cfg.scope || "openid", state,
    code_challenge: challenge, code_challenge_method: "S256" });
  location.assign(`${cfg.authorize_url}?${q}`);
}

// The access token if this page load is the identity provider's redirect back, else null.
export async function finishSignIn(cfg) {
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) return null;
  const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
  sessionStorage.removeItem(KEY);
  history.replaceState(null, "", location.pathname + location.hash);   // the code is single-use
  if (q.has("error")) throw new Error(`the identity provider said: ${q.get("error_description") || q.get("error")}`);
  if (!saved || saved.state !== q.get("state")) throw new Error("this sign-in was not started here; sign in again");
  const r = await fetch(cfg.token_url, { method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: q.get("code"),
      redirect_uri: here(), client_id: cfg.client_id, code_verifier: saved.verifier }) });
  const body = await r.json().catch(() => ({}));
  if (!r.ok || !body.access_token) throw new Error(`the identity provider refused the sign-in: ${body.error_description || body.error || r.status}`);
  return body.access_token;
}
