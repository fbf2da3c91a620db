"""The officer app's static files (server/web/app): an installable web app at /app/."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..settings import Settings
from ..web_push import SDK_ORIGINS
from .io import json_response
from .routing import Route
from .signin import idp_origin
from .static import WEB, respond

FOLDER = WEB / "app"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'{idp}{push}; "
       "img-src 'self' data:; manifest-src 'self'; worker-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def push_origins(settings: Settings) -> str:
    """The Google endpoints the Firebase SDK calls, only when web push is configured."""
    return "".join(f" {o}" for o in SDK_ORIGINS) if settings.fcm_web else ""


def _csp(request: web.Request) -> str:
    settings = request.app[keys.SETTINGS]
    return CSP.format(idp=idp_origin(settings), push=push_origins(settings))


async def index(request: web.Request) -> web.Response:
    """The app's page."""
    return respond(FOLDER, "index.html", _csp(request))


async def asset(request: web.Request) -> web.Response:
    """The app's script, styles, manifest, icon or service worker."""
    return respond(FOLDER, request.match_info["name"], _csp(request))


async def vendor(request: web.Request) -> web.Response:
    """A vendored third-party file (the Firebase SDK's messaging builds and their licence)."""
    return respond(FOLDER, f"vendor/{request.match_info['name']}", _csp(request))


async def push_config(request: web.Request) -> web.Response:
    """The force's Firebase web app for web push, or `enabled: false` (open: these are
    public identifiers, and the page needs them before any call that carries a token)."""
    config = request.app[keys.SETTINGS].fcm_web
    return json_response(config.page_json() if config else {"enabled": False})


async def redirect(request: web.Request) -> web.Response:
    """/app -> /app/ (relative paths and the service worker's scope need the slash)."""
    raise web.HTTPFound("/app/")


ROUTES = [
    Route("GET", "/app", redirect, None),
    Route("GET", "/app/", index, None),
    # Before /app/{name}, which would otherwise take it for a file.
    Route("GET", "/app/push-config", push_config, None),
    Route("GET", "/app/{name}", asset, None),
    Route("GET", "/app/vendor/{name}", vendor, None),
]
