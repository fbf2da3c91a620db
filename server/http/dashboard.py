"""The control-room dashboard's static files (server/web/dashboard), served by the app.

The page itself holds no data: it is open, and every call it makes carries the operator's
token. Its Content-Security-Policy allows only this origin's own scripts, styles and API
(no inline code), so a post's text can never run as script.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from .. import keys
from ..domain.errors import NotFound
from .routing import Route

FOLDER = Path(__file__).resolve().parents[1] / "web" / "dashboard"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:{tiles}; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


@cache
def _read(name: str) -> bytes | None:
    """A file's bytes, read once (a few small files: the loop never waits twice)."""
    path = FOLDER / name
    if not _NAME.match(path.name) or path.suffix not in TYPES or not path.is_file():
        return None
    return path.read_bytes()


def _tile_origin(template: str) -> str:
    """The origin a tile URL template loads from ('' when there are no tiles)."""
    parts = urlsplit(template)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _file(request: web.Request, name: str) -> web.Response:
    body = _read(name)
    if body is None:
        raise NotFound("file", name)
    tiles = request.app[keys.SETTINGS].map_tiles
    if name == "index.html":   # the page learns the tile server from a meta tag
        body = body.replace(b"{{MAP_TILES}}", html.escape(tiles, quote=True).encode())
    origin = _tile_origin(tiles)
    suffix = Path(name).suffix
    return web.Response(body=body, content_type=TYPES[suffix],
                        charset="utf-8" if suffix in (".html", ".js", ".css", ".txt") else None,
                        headers={"Content-Security-Policy": CSP.format(
                            tiles=f" {origin}" if origin else ""),
                                 "Cache-Control": "no-cache"})


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
