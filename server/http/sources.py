"""The built-in sources' status, for administrators and the control room."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from .io import json_response
from .routing import CONTROL, Route


async def list_sources(request: web.Request) -> web.Response:
    """Each source's state, lag, cursor, counts and last error."""
    return json_response({"items": request.app[keys.SOURCES].snapshot()})


ROUTES = [Route("GET", "/v1/sources", list_sources, CONTROL)]
