"""The officer app's static files (server/web/app): an installable web app at /app/."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from .routing import Route
from .signin import idp_origin
from .static import WEB, respond

FOLDER = WEB / "app"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'{idp}; "
       "img-src 'self' data:; manifest-src 'self'; worker-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def _csp(request: web.Request) -> str:
    return CSP.format(idp=idp_origin(request.app[keys.SETTINGS]))


async def index(request: web.Request) -> web.Response:
    """The app's page."""
    return respond(FOLDER, "index.html", _csp(request))


async def asset(request: web.Request) -> web.Response:
    """The app's script, styles, manifest, icon or service worker."""
    return respond(FOLDER, request.match_info["name"], _csp(request))


async def redirect(request: web.Request) -> web.Response:
    """/app -> /app/ (relative paths and the service worker's scope need the slash)."""
    raise web.HTTPFound("/app/")


ROUTES = [
    Route("GET", "/app", redirect, None),
    Route("GET", "/app/", index, None),
    Route("GET", "/app/{name}", asset, None),
]
