"""The officer app in a real browser: Debian's Chromium driven by Playwright, with a fake
geolocation (the browser's own override), against a loopback server. Locators are what an
officer sees: roles, names and visible text.

Set BLUELIGHT_SCREENSHOTS=DIR to save the screenshots the README shows."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.alerting_world import WHITEHALL, neighbourhood, post
from tests.conftest import Api, ApiFactory, token
from tests.test_dashboard import browser, shot  # noqa: F401  (the browser fixture)

PHONE = {"width": 390, "height": 844}


async def officer(api: Api, oid: str) -> None:
    r = await api.put(f"/v1/officers/{oid}", {"name": f"Officer {oid}", "callsign": oid.upper(),
                                              "neighbourhood_ids": ["whitehall"]}, role="admin")
    assert r.status == 201, r.body


async def on_duty_in_app(browser: Browser, api: Api, oid: str, lat: float, lon: float) -> Page:  # noqa: F811
    """An officer opens the app from their link, on a phone-sized screen, and goes on duty."""
    context = await browser.new_context(viewport=PHONE, permissions=["geolocation"],
                                        geolocation={"latitude": lat, "longitude": lon,
                                                     "accuracy": 12})
    page = await context.new_page()
    await page.goto(f"{api.client.make_url('/app/')}#token={token('officer', oid)}")
    await expect(page.get_by_role("banner").get_by_role("status")).to_have_text("Live")
    assert "token" not in page.url   # the fragment is read once and removed
    await page.get_by_role("button", name="Go on duty").click()
    await expect(page.get_by_text("On duty", exact=True)).to_be_visible()
    await expect(page.get_by_text("Location shared (±12 m)")).to_be_visible()
    return page


async def test_alert_live_acknowledge_on_scene_clear_and_the_other_officer_sees_it_taken(
        make_api: ApiFactory, browser: Browser) -> None:  # noqa: F811
    api = await make_api()
    await neighbourhood(api)
    await officer(api, "pc1")
    await officer(api, "pc2")
    first = await on_duty_in_app(browser, api, "pc1", 51.5046, -0.1262)
    second = await on_duty_in_app(browser, api, "pc2", 51.5049, -0.1262)
    await shot(first, "app-on-duty")
    r = await api.post("/v1/reports", post("man on the floor outside the pub not breathing",
                                           "a1", lat=WHITEHALL[0], lon=WHITEHALL[1]),
                       role="ingest")
    assert r.status == 201, r.body
    for page in (first, second):
        await expect(page.get_by_role("heading", name="P1 medical")).to_be_visible()
        await expect(page.get_by_text("man on the floor outside the pub")).to_be_visible()
    await expect(first.get_by_role("link", name="Open in maps")).to_have_attribute(
        "href", re.compile(r"^geo:51\.50"))
    await shot(first, "app-alert")
    await first.get_by_role("button", name="Acknowledge").click()
    await expect(first.get_by_text("You are responding")).to_be_visible()
    await expect(second.get_by_text("Taken by pc1")).to_be_visible()
    # The post came through the ingest API, not a network Bluelight can answer on.
    await expect(first.get_by_role("heading", name="Reply to the poster")).to_be_visible()
    await first.get_by_role("button", name=re.compile("^Seen by police")).click()
    await expect(first.get_by_role("alert")).to_contain_text("reply_unsupported")
    await expect(second.get_by_role("button", name="Acknowledge")).to_be_hidden()
    await first.get_by_role("button", name="On scene").click()
    await expect(first.get_by_text("Status: On scene")).to_be_visible()
    await first.get_by_role("button", name="Clear").click()
    await expect(first.get_by_role("heading", name="P1 medical")).to_be_hidden()
    await expect(first.get_by_text("Status: Available")).to_be_visible()
    timeline = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="admin")
                ).body["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert kinds.index("acknowledged") < kinds.index("on_scene") < kinds.index("cleared")
    me = (await api.get("/v1/officers/pc1", role="admin")).body
    assert me["status"] == "available" and me["location"]["accuracy_m"] == 12


async def test_a_responding_officer_is_not_alerted_for_the_next_p1_while_a_free_one_is_near(
        make_api: ApiFactory, browser: Browser) -> None:  # noqa: F811
    api = await make_api()
    await neighbourhood(api)
    await officer(api, "pc1")
    await officer(api, "pc2")
    busy = await on_duty_in_app(browser, api, "pc1", 51.5046, -0.1262)
    free = await on_duty_in_app(browser, api, "pc2", 51.5100, -0.1262)
    r = await api.post("/v1/reports", post("my dad has collapsed and he's gone blue", "a2",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    assert r.status == 201
    await busy.get_by_role("button", name="Acknowledge").click()
    await expect(busy.get_by_text("You are responding")).to_be_visible()
    await free.get_by_role("button", name="Dismiss").click()
    # 540 m west of the first: its own incident; pc1 is nearer but already responding.
    r = await api.post("/v1/reports", post("someone has been stabbed on the corner, bleeding",
                                           "a3", lat=51.5045, lon=-0.1340), role="ingest")
    assert r.status == 201
    await expect(free.get_by_role("heading", name="P1 violence")).to_be_visible()
    await expect(busy.get_by_role("heading", name="P1 medical")).to_be_visible()   # unchanged
    alerts = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="admin")
              ).body["alerts"]
    assert alerts[0]["recipients"] == ["pc2"]


async def test_the_app_is_installable_and_refuses_a_bad_token(
        make_api: ApiFactory, browser: Browser) -> None:  # noqa: F811
    api = await make_api()
    manifest = await api.client.get("/app/manifest.webmanifest")
    assert manifest.content_type == "application/manifest+json"
    assert (await manifest.json())["start_url"] == "/app/"
    page = await browser.new_page(viewport=PHONE)
    await page.goto(str(api.client.make_url("/app/")))
    scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope.endswith("/app/")
    await page.get_by_label("Access token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("banner").get_by_role("status")).to_contain_text(
        "sign in again")
