"""How the browser pages sign in: GET /auth/config, and the shared sign-in script.

With the embedded auth a person pastes a token; with the force's identity provider the
pages run the authorization-code flow with PKCE against it (BLUELIGHT_OIDC_CLIENT_ID and
the two endpoints), and the pages' Content-Security-Policy lets them call its token
endpoint and nothing else outside this origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from .. import keys
from ..settings import Settings
from .io import json_response
from .routing import Route
from .static import WEB, respond

FOLDER = WEB / "shared"
CSP = "default-src 'none'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'"


def sign_in_configured(settings: Settings) -> bool:
    """True if the pages sign in through the identity provider."""
    return settings.auth == "oidc" and settings.oidc_client_id is not None


def idp_origin(settings: Settings) -> str:
    """The token endpoint's origin, for the pages' connect-src ('' without OIDC sign-in)."""
    if not sign_in_configured(settings) or not settings.oidc_token_url:
        return ""
    parts = urlsplit(settings.oidc_token_url)
    return f" {parts.scheme}://{parts.netloc}"


async def auth_config(request: web.Request) -> web.Response:
    """What a page needs to sign in (no secret: the client is public and uses PKCE)."""
    settings = request.app[keys.SETTINGS]
    if not sign_in_configured(settings):
        return json_response({"mode": "token"})
    return json_response({"mode": "oidc", "issuer": settings.oidc_issuer,
                          "client_id": settings.oidc_client_id,
                          "authorize_url": settings.oidc_authorize_url,
                          "token_url": settings.oidc_token_url, "scope": "openid"})


async def shared(request: web.Request) -> web.Response:
    """A script both pages import."""
    return respond(FOLDER, request.match_info["name"], CSP)


ROUTES = [
    Route("GET", "/auth/config", auth_config, None),
    Route("GET", "/shared/{name}", shared, None),
]
