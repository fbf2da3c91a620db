"""The API reference at /docs/: openapi.yaml rendered by a vendored Redoc, for a force's
own dashboard team. The page shows only the spec (no post content, no token), so its policy
may allow the inline styles and the blob worker Redoc needs, which the dashboard's never
does."""

from __future__ import annotations

from aiohttp import web

from .routing import Route
from .static import WEB, respond

FOLDER = WEB / "docs"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "connect-src 'self'; img-src 'self' data:; worker-src 'self' blob:; "
       "font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


async def index(request: web.Request) -> web.Response:
    """The reference page."""
    return respond(FOLDER, "index.html", CSP)


async def vendor(request: web.Request) -> web.Response:
    """Redoc and its licences."""
    return respond(FOLDER, f"vendor/{request.match_info['name']}", CSP,
                   headers={"Cache-Control": "public, max-age=3600"})


async def redirect(request: web.Request) -> web.Response:
    """/docs -> /docs/."""
    raise web.HTTPFound("/docs/")


ROUTES = [
    Route("GET", "/docs", redirect, None),
    Route("GET", "/docs/", index, None),
    Route("GET", "/docs/vendor/{name}", vendor, None),
]
