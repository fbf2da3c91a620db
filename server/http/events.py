"""GET /v1/events: a Server-Sent Events stream for dashboards, resumable by Last-Event-ID."""

from __future__ import annotations

import json

from aiohttp import web

from .. import keys
from ..domain.errors import FieldError, ValidationFailed
from .io import json_default
from .routing import CONTROL, Route
from .serialize import event_json

HEARTBEAT_EVERY = 30  # empty polls between keep-alive comments


def resume_from(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID")   # present but empty is malformed, not "0"
    if raw is None:
        raw = request.query.get("after", "0")
    # ASCII digits only ("²".isdigit() is True) and at most 18 of them (a 64-bit id).
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise ValidationFailed("Last-Event-ID must be an event id", errors=[
            FieldError("Last-Event-ID", "must be a non-negative integer")])
    return int(raw)


async def open_stream(request: web.Request, comment: str) -> web.StreamResponse:
    """Start an SSE response (unbuffered by proxies; clients retry after 2 s)."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    await response.write(f": {comment}\nretry: 2000\n\n".encode())
    return response


async def events(request: web.Request) -> web.StreamResponse:
    """Stream every persisted event after the given id, then new ones as they happen."""
    after = resume_from(request)
    response = await open_stream(request, "bluelight events")
    clients = request.app[keys.METRICS].sse_clients
    clients.inc()
    try:
        await _stream(request, response, after)
    finally:
        clients.dec()
    return response


async def _stream(request: web.Request, response: web.StreamResponse, after: int) -> None:
    idle = 0
    async for batch in request.app[keys.FEED].follow(after):
        if not batch:
            idle += 1
            if idle >= HEARTBEAT_EVERY:
                idle = 0
                await response.write(b": keep-alive\n\n")
            continue
        idle = 0
        chunk = "".join(f"id: {e.id}\nevent: {e.kind}\ndata: "
                        f"{json.dumps(event_json(e), default=json_default)}\n\n" for e in batch)
        await response.write(chunk.encode())


ROUTES = [Route("GET", "/v1/events", events, CONTROL)]
