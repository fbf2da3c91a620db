"""Static files shipped inside the package (the dashboard and the officer app).

Each page holds no data: it is open, and every call it makes carries the user's token.
Its Content-Security-Policy allows only this origin's own scripts, styles and API (no
inline code), so a post's text can never run as script.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from aiohttp import web

from ..domain.errors import NotFound

WEB = Path(__file__).resolve().parents[1] / "web"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain",
         ".webmanifest": "application/manifest+json"}
TEXT = frozenset((".html", ".js", ".css", ".txt", ".svg", ".webmanifest"))
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@cache
def read(folder: Path, name: str) -> bytes | None:
    """A file's bytes, read once (a few small files: the loop never waits twice)."""
    path = folder / name
    if not _NAME.match(path.name) or path.suffix not in TYPES or not path.is_file():
        return None
    return path.read_bytes()


def respond(folder: Path, name: str, csp: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    """One file as a response with the site's policy (`body` replaces the file's bytes)."""
    body = read(folder, name) if body is None else body
    if body is None:
        raise NotFound("file", name)
    suffix = Path(name).suffix
    return web.Response(body=body, content_type=TYPES[suffix],
                        charset="utf-8" if suffix in TEXT else None,
                        headers={"Content-Security-Policy": csp, "Cache-Control": "no-cache",
                                 **(headers or {})})
