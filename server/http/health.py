"""Open endpoints: liveness, readiness and the OpenAPI contract."""

from __future__ import annotations

import logging

from aiohttp import web

from .. import keys
from .io import json_response
from .openapi import SPEC_PATH
from .problem import problem
from .routing import Route

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready only when the store answers and the geofence index is loaded."""
    geofence = request.app[keys.GEOFENCE]
    try:
        await request.app[keys.STORE].ping()
    except Exception as exc:
        log.warning("readiness: store did not answer: %s", exc)
        return problem(503, "not_ready", "the store does not answer")
    if not geofence.loaded:
        return problem(503, "not_ready", "the geofence index is not loaded yet")
    states: dict[str, int] = {}
    for source in request.app[keys.SOURCES].snapshot():
        states[str(source["state"])] = states.get(str(source["state"]), 0) + 1
    # Triage works while it warms up (a post waits for the model's load, off the loop);
    # "warm" says the warm-up has ended and posts no longer pay for it.
    warm = request.app[keys.REPORTS].warmup.finished.is_set()
    return json_response({"status": "ready", "store": "ok",
                          "geofence": {"neighbourhoods": len(geofence.names),
                                       "version": geofence.version},
                          "sources": states, "triage": "warm" if warm else "warming"})


async def openapi_yaml(request: web.Request) -> web.FileResponse:
    """The contract this server implements."""
    return web.FileResponse(SPEC_PATH, headers={"Content-Type": "application/yaml"})


ROUTES = [
    Route("GET", "/healthz", healthz, None),
    Route("GET", "/readyz", readyz, None),
    Route("GET", "/openapi.yaml", openapi_yaml, None),
]
