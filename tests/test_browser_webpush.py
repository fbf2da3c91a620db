"""FCM web push in the officer app, in Debian's Chromium driven by Playwright against a
loopback server, with the vendored Firebase SDK (server/web/app/vendor/).

Mocked because Google's endpoints cannot be reached here: the SDK's two calls, to Firebase
Installations (firebaseinstallations.googleapis.com) and FCM registrations
(fcmregistrations.googleapis.com), are answered by Playwright's context.route the way
Google answers them. Headless Chromium has no push service to subscribe to, so an init
script stubs PushManager.subscribe / getSubscription in the page with a fixed subscription.
Everything else is real: the SDK, the page and its CSP, the service worker, the server's
FCM sends (to tests/fake_fcm.py), and the push event itself, delivered to the service worker
through the DevTools protocol (ServiceWorker.deliverPushMessage) in the shape FCM hands a
browser."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from server import keys, web_push
from server.settings import Settings
from tests.alerting_world import WHITEHALL, neighbourhood, post
from tests.conftest import Api, ApiFactory, eventually, token
from tests.fake_fcm import FakeFcm
from tests.test_dashboard import browser  # noqa: F401  (the browser fixture)
from tests.test_officer_app import PHONE, officer

PROJECT = "bluelight-test"
SENDER = "1234567890"
FCM_TOKEN = "fake-web-token:APA91b" + "T" * 60   # what the fake registrations answer
ENDPOINT = "https://fcm.googleapis.com/fcm/send/fake-subscription"
WEB_CONFIG = web_push.parse({"apiKey": "AIza-test-key", "projectId": PROJECT,
                             "messagingSenderId": SENDER, "appId": f"1:{SENDER}:web:abc123",
                             "vapidKey": "B" + "A" * 86})

# The page's push subscription, as a real one looks to the SDK (endpoint and keys).
STUB_PUSH_MANAGER = """
(() => {
  let subscribed = false;
  const sub = { endpoint: ENDPOINT, expirationTime: null, options: { userVisibleOnly: true },
    getKey: (name) => new Uint8Array(name === "p256dh" ? 65 : 16).fill(7).buffer,
    unsubscribe: async () => { subscribed = false; return true; } };
  PushManager.prototype.subscribe = async function () { subscribed = true; return sub; };
  PushManager.prototype.getSubscription = async function () { return subscribed ? sub : null; };
})();
""".replace("ENDPOINT", json.dumps(ENDPOINT))


@dataclass
class FakeGoogle:
    """Firebase Installations and FCM registrations, answered in the page's network."""

    reachable: bool = True
    calls: list[tuple[str, str, Any]] = field(default_factory=list)

    async def install(self, context: BrowserContext) -> None:
        for host in ("firebaseinstallations", "fcmregistrations"):
            await context.route(f"https://{host}.googleapis.com/**", self._answer)

    async def _answer(self, route: Route) -> None:
        request = route.request
        cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "*",
                "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE"}
        if request.method == "OPTIONS":
            await route.fulfill(status=204, headers=cors)
            return
        body = json.loads(request.post_data) if request.post_data else None
        self.calls.append((request.method, request.url, body))
        if not self.reachable:
            await route.abort("internetdisconnected")
            return
        if "firebaseinstallations" in request.url:
            answer: dict[str, Any] = {
                "name": f"projects/{SENDER}/installations/{body['fid']}", "fid": body["fid"],
                "refreshToken": "refresh-1",
                "authToken": {"token": "installation-auth-1", "expiresIn": "604800s"}}
        else:
            answer = {"token": FCM_TOKEN} if request.method == "POST" else {}
        await route.fulfill(json=answer, headers=cors)


@pytest.fixture
async def fcm_api(make_api: ApiFactory, settings: Settings,
                  fcm: tuple[FakeFcm, str]) -> Api:
    """A server that pushes through the fake FCM, with the force's Firebase web app."""
    return await make_api(settings=replace(
        settings, push="fcm", fcm_project_id=PROJECT, fcm_endpoint=fcm[1],
        fcm_access_token="test-access-token", fcm_web=WEB_CONFIG))


async def phone(browser: Browser, api: Api, google: FakeGoogle,  # noqa: F811
                permissions: tuple[str, ...] = ("geolocation", "notifications")) -> Page:
    """pc1 opens the app from their link on a phone with a push-capable browser."""
    context = await browser.new_context(viewport=PHONE, permissions=list(permissions),
                                        geolocation={"latitude": 51.5046,
                                                     "longitude": -0.1262, "accuracy": 12})
    await google.install(context)
    await context.add_init_script(STUB_PUSH_MANAGER)
    page = await context.new_page()
    await page.goto(f"{api.client.make_url('/app/')}#token={token('officer', 'pc1')}")
    await expect(page.get_by_role("banner").get_by_role("status")).to_have_text("Live")
    return page


async def devices(api: Api) -> dict[str, str]:
    me = (await api.get("/v1/me", role="officer", sub="pc1")).body
    return {d["token"]: d["platform"] for d in me["devices"]}


def as_delivered(message: dict[str, Any]) -> dict[str, Any]:
    """What FCM hands the browser for a v1 message (the payload firebase-messaging's own
    service worker reads): the notification merged with webpush.notification, the data,
    fcmOptions, and FCM's own ids."""
    webpush = message.get("webpush", {})
    out: dict[str, Any] = {"data": message["data"], "from": SENDER, "fcmMessageId": "m-1"}
    if "notification" in message:
        out["notification"] = {**message["notification"], **webpush.get("notification", {})}
    if "fcm_options" in webpush:
        out["fcmOptions"] = webpush["fcm_options"]
    return out


class Worker:
    """The app's service worker, seen through the DevTools protocol."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.registrations: dict[str, str] = {}   # scope URL -> registration id
        self.updated = asyncio.Event()

    async def start(self) -> None:
        self.cdp = await self.page.context.new_cdp_session(self.page)
        self.cdp.on("ServiceWorker.workerRegistrationUpdated", self._updated)
        await self.cdp.send("ServiceWorker.enable")

    def _updated(self, event: dict[str, Any]) -> None:
        for r in event["registrations"]:
            if not r.get("isDeleted"):
                self.registrations[r["scopeURL"]] = r["registrationId"]
        self.updated.set()

    async def push(self, payload: dict[str, Any]) -> None:
        scope = await self.page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        # 30 s, not 5: on a loaded machine (CI beside other jobs) the registration event
        # once took longer than 5 s to arrive; a slow event is not a failure of the app.
        async with asyncio.timeout(30):
            while scope not in self.registrations:   # the event comes after enable
                self.updated.clear()
                await self.updated.wait()
        origin = scope.split("/app/")[0]
        await self.cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": origin, "registrationId": self.registrations[scope],
            "data": json.dumps(payload)})

    async def notification(self, tag: str, body: str = "") -> dict[str, Any]:
        """The notification the worker shows with this tag (and text), once it is there."""
        script = """async ([tag, body]) => {
          const reg = await navigator.serviceWorker.ready;
          const found = (await reg.getNotifications({ tag })).filter((n) => n.body.includes(body));
          return found.length === 1 ? { title: found[0].title, body: found[0].body,
            tag: found[0].tag, count: (await reg.getNotifications()).length } : null; }"""
        shown: dict[str, Any] = {}

        async def there() -> bool:
            # page.wait_for_function cannot wait on a promise: ask until it is shown.
            shown.update(await self.page.evaluate(script, [tag, body]) or {})
            return bool(shown)

        await eventually(there)
        return shown


async def test_on_duty_registers_a_web_device_and_a_push_shows_the_alert(
        fcm_api: Api, fcm: tuple[FakeFcm, str], browser: Browser) -> None:  # noqa: F811
    api, (fake, _) = fcm_api, fcm
    await neighbourhood(api)
    await officer(api, "pc1")
    google = FakeGoogle()
    page = await phone(browser, api, google)
    csp = (await api.client.get("/app/")).headers["Content-Security-Policy"]
    assert ("connect-src 'self' https://firebaseinstallations.googleapis.com "
            "https://fcmregistrations.googleapis.com;") in csp
    config = (await api.get("/app/push-config")).body   # checked against openapi.yaml
    assert config["firebase"]["projectId"] == PROJECT
    assert config["vapid_key"] == WEB_CONFIG.vapid_key
    await page.get_by_role("button", name="Go on duty").click()
    await expect(page.get_by_text("Push alerts on for this phone")).to_be_visible()
    assert (await devices(api))[FCM_TOKEN] == "web"
    (_, _, created), (_, url, registered) = google.calls
    assert created["appId"] == WEB_CONFIG.app_id
    assert url.endswith(f"/projects/{PROJECT}/registrations")
    assert registered["web"]["endpoint"] == ENDPOINT

    # A P1 nearby: the server pushes to the web token through FCM, FCM to the browser.
    worker = Worker(page)
    await worker.start()
    r = await api.post("/v1/reports", post("he has a knife and he's chasing people", "w1",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    assert r.status == 201, r.body

    async def pushed() -> bool:
        return bool(fake.to(FCM_TOKEN))

    await eventually(pushed)
    sent = fake.to(FCM_TOKEN)[0].message
    alert_id = sent["data"]["alert_id"]
    await worker.push(as_delivered(sent))
    shown = await worker.notification(alert_id)
    assert shown["title"] == "P1 violence in Whitehall"
    assert shown["body"].startswith("he has a knife")
    # Taken by someone else: the worker replaces the alert's notification quietly.
    await worker.push(as_delivered({"data": {"type": "alert_taken", "alert_id": alert_id,
                                             "taken_by": "pc2"}}))
    taken = await worker.notification(alert_id, "Taken by pc2")
    assert taken["count"] == 1      # in the alert's place, not beside it

    # Off duty: the web device is removed (the stream device stays, as ever).
    await page.get_by_role("button", name="Decline").click()
    await page.get_by_role("button", name="Go off duty").click()
    await expect(page.get_by_text("Off duty", exact=True)).to_be_visible()
    await expect(page.get_by_text("Push alerts on for this phone")).to_be_hidden()
    assert list((await devices(api)).values()) == ["stream"]


async def test_without_web_push_config_nothing_changes(api: Api,
                                                       browser: Browser) -> None:  # noqa: F811
    await neighbourhood(api)
    await officer(api, "pc1")
    google = FakeGoogle()
    page = await phone(browser, api, google)
    csp = (await api.client.get("/app/")).headers["Content-Security-Policy"]
    assert "googleapis" not in csp
    assert (await api.get("/app/push-config")).body == {"enabled": False}
    await page.get_by_role("button", name="Go on duty").click()
    await expect(page.get_by_text("Location shared (±12 m)")).to_be_visible()
    assert list((await devices(api)).values()) == ["stream"]
    assert await page.evaluate("typeof window.firebase") == "undefined"   # never loaded
    assert google.calls == []


async def test_when_push_fails_the_app_says_so_and_keeps_the_stream(
        fcm_api: Api, browser: Browser) -> None:  # noqa: F811
    await neighbourhood(fcm_api)
    await officer(fcm_api, "pc1")
    # Google out of reach (a force's network that blocks it):
    unreachable = FakeGoogle(reachable=False)
    page = await phone(browser, fcm_api, unreachable)
    await page.get_by_role("button", name="Go on duty").click()
    await expect(page.get_by_text("On duty", exact=True)).to_be_visible()
    await expect(page.get_by_text("Push alerts off")).to_have_text(
        "Push alerts off (Firebase cannot be reached); alerts still arrive while this app is open")
    assert list((await devices(fcm_api)).values()) == ["stream"]
    await page.get_by_role("button", name="Go off duty").click()
    await expect(page.get_by_text("Off duty", exact=True)).to_be_visible()
    await page.context.close()
    # Notifications refused by the officer:
    page = await phone(browser, fcm_api, FakeGoogle(), permissions=("geolocation",))
    await page.get_by_role("button", name="Go on duty").click()
    await expect(page.get_by_text("Push alerts off")).to_contain_text("not allowed")
    assert set((await devices(fcm_api)).values()) == {"stream"}   # both phones' streams


async def test_ending_the_session_stops_pushes_to_the_phone(
        fcm_api: Api, fcm: tuple[FakeFcm, str], browser: Browser) -> None:  # noqa: F811
    """A lost phone goes quiet: an admin ends pc1's session, pc1 goes back on duty from
    another phone, and the next alert for pc1 is never pushed to the lost one."""
    api, (fake, _) = fcm_api, fcm
    await neighbourhood(api)
    await officer(api, "pc1")
    page = await phone(browser, api, FakeGoogle())
    await page.get_by_role("button", name="Go on duty").click()
    await expect(page.get_by_text("Push alerts on for this phone")).to_be_visible()
    assert (await devices(api))[FCM_TOKEN] == "web"

    ended = await api.call("DELETE", "/v1/officers/pc1/session", role="admin")
    assert ended.status == 200
    await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="pc1")
    spare = "spare-phone:APA91b" + "S" * 40
    await api.put(f"/v1/me/devices/{spare}", {"platform": "android"}, role="officer",
                  sub="pc1")
    await api.put("/v1/me/location", {"lat": WHITEHALL[0], "lon": WHITEHALL[1]},
                  role="officer", sub="pc1")
    r = await api.post("/v1/reports", post("man collapsed, not breathing", "w9",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    assert r.status == 201, r.body

    async def pushed_to_spare() -> bool:
        return bool(fake.to(spare))

    await eventually(pushed_to_spare)
    await api.app[keys.TASKS].idle()
    assert fake.to(FCM_TOKEN) == []
