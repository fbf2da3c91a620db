"""Signing in to the dashboard and the officer app through the force's identity provider
(authorization code with PKCE) in real Chromium, against a fake IdP on 127.0.0.1."""

from __future__ import annotations

import re
from dataclasses import replace

from playwright.async_api import Browser, expect

from server.settings import Settings
from tests.conftest import Api, ApiFactory
from tests.fake_idp import AUDIENCE, CLIENT_ID, ISSUER, FakeIdp
from tests.test_dashboard import browser  # noqa: F401  (the browser fixture)


async def oidc_api(make_api: ApiFactory, settings: Settings, idp: FakeIdp) -> Api:
    return await make_api(settings=replace(
        settings, auth="oidc", oidc_issuer=ISSUER, oidc_audience=AUDIENCE,
        oidc_jwks_url=idp.url("/jwks"), oidc_role_claim="groups",
        oidc_role_map=(("cad-operators", "control_room"), ("neighbourhood-pcs", "officer")),
        oidc_client_id=CLIENT_ID, oidc_authorize_url=idp.url("/authorize"),
        oidc_token_url=idp.url("/token")))


async def test_the_dashboard_signs_in_with_the_identity_provider_using_pkce(
        make_api: ApiFactory, settings: Settings, browser: Browser) -> None:  # noqa: F811
    async with FakeIdp() as idp:
        api = await oidc_api(make_api, settings, idp)
        page = await browser.new_page()
        await page.goto(str(api.client.make_url("/dashboard/")))
        await page.get_by_role("button", name="Sign in with your force account").click()
        await expect(page.get_by_role("banner").get_by_role("status")).to_have_text("Live")
        await expect(page.get_by_role("heading", name=re.compile("Open incidents"))).to_be_visible()
        assert "code=" not in page.url and "state=" not in page.url   # single-use, removed
        (asked,) = idp.token_requests
        assert asked["grant_type"] == "authorization_code" and asked["client_id"] == CLIENT_ID
        assert len(asked["code_verifier"]) >= 43 and not idp.refusals
        csp = (await api.client.get("/dashboard/")).headers["Content-Security-Policy"]
        assert f"connect-src 'self' {idp.url('/').rstrip('/')}" in csp


async def test_a_redirect_this_tab_did_not_start_is_refused(
        make_api: ApiFactory, settings: Settings, browser: Browser) -> None:  # noqa: F811
    async with FakeIdp() as idp:
        api = await oidc_api(make_api, settings, idp)
        page = await browser.new_page()
        await page.goto(str(api.client.make_url("/dashboard/?code=stolen&state=forged")))
        await expect(page.get_by_role("banner").get_by_role("status")).to_contain_text(
            "not started here")
        assert idp.token_requests == []          # the code was never exchanged


async def test_an_officer_signs_in_to_the_app_with_the_identity_provider(
        make_api: ApiFactory, settings: Settings, browser: Browser) -> None:  # noqa: F811
    async with FakeIdp(user="pc-12", groups=("neighbourhood-pcs",)) as idp:
        api = await oidc_api(make_api, settings, idp)
        r = await api.call("PUT", "/v1/officers/pc-12", json_body={
            "name": "Officer 12", "callsign": "PC12"},
            headers={"Authorization": "Bearer " + _admin(idp)})
        assert r.status == 201, r.body
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(str(api.client.make_url("/app/")))
        await page.get_by_role("button", name="Sign in with your force account").click()
        await expect(page.get_by_role("heading", name="PC12 · Officer 12")).to_be_visible()
        await expect(page.get_by_role("banner").get_by_role("status")).to_have_text("Live")
        assert (await api.call("GET", "/auth/config")).body["mode"] == "oidc"


def _admin(idp: FakeIdp) -> str:
    """An admin's access token from the same IdP (as an admin tool would hold)."""
    from datetime import UTC, datetime, timedelta

    import jwt
    now = datetime.now(UTC)
    return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "admin-1", "groups": ["admin"],
                       "iat": now, "exp": now + timedelta(minutes=5)}, idp.key,
                      algorithm="RS256", headers={"kid": "k1"})
