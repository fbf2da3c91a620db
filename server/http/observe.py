"""Request ids, request latency, and the access log (never tokens, queries or bodies)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from .. import keys, logs

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = web.RequestKey("request_id", str)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _route(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Take the caller's X-Request-ID (if it is a sane token) or make one; return it; time
    the request by route."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    rid = request[REQUEST_ID] = given if _SANE_ID.match(given) else uuid.uuid4().hex
    token = logs.REQUEST_ID.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[keys.METRICS]
        metrics.child(metrics.requests, _route(request), request.method, str(status)).observe(
            time.perf_counter() - started)
        logs.REQUEST_ID.reset(token)


async def request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """Every response carries its request id (set before the headers go out, so event
    streams and error responses have it too)."""
    rid = request.get(REQUEST_ID)
    if rid is not None:
        response.headers[REQUEST_ID_HEADER] = rid


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path without its query, status, size, time, id."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %.1fms", request.method, request.path, response.status,
            response.body_length, time * 1000,
            extra={"method": request.method, "route": request.path,
                   "status": response.status, "duration_ms": round(time * 1000, 1),
                   "request_id": response.headers.get(REQUEST_ID_HEADER)})

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
