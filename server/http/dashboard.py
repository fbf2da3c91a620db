"""The control-room dashboard's static files (server/web/dashboard), served by the app.

The page's policy also lets the map load tiles from the configured tile server.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from aiohttp import web

from .. import keys
from .routing import Route
from .signin import idp_origin
from .static import WEB, read, respond

FOLDER = WEB / "dashboard"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'{idp}; "
       "img-src 'self' data:{tiles}; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def _tile_origin(template: str) -> str:
    """The origin a tile URL template loads from ('' when there are no tiles)."""
    parts = urlsplit(template)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _file(request: web.Request, name: str) -> web.Response:
    tiles = request.app[keys.SETTINGS].map_tiles
    body = None
    if name == "index.html":   # the page learns the tile server from a meta tag
        page = read(FOLDER, name)
        body = page and page.replace(b"{{MAP_TILES}}",
                                     html.escape(tiles, quote=True).encode())
    origin = _tile_origin(tiles)
    return respond(FOLDER, name, CSP.format(tiles=f" {origin}" if origin else "",
                                            idp=idp_origin(request.app[keys.SETTINGS])), body)


async def index(request: web.Request) -> web.Response:
    """The dashboard page."""
    return _file(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    """One of the page's scripts or styles."""
    return _file(request, request.match_info["name"])


async def vendor(request: web.Request) -> web.Response:
    """A vendored third-party file (Leaflet and its licence)."""
    return _file(request, f"vendor/{request.match_info['name']}")


async def redirect(request: web.Request) -> web.Response:
    """/dashboard -> /dashboard/ (relative asset paths need the slash)."""
    raise web.HTTPFound("/dashboard/")


ROUTES = [
    Route("GET", "/dashboard", redirect, None),
    Route("GET", "/dashboard/", index, None),
    Route("GET", "/dashboard/{name}", asset, None),
    Route("GET", "/dashboard/vendor/{name}", vendor, None),
]
