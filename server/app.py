"""The composition root: create_app(settings, **overrides) wires every part together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from . import keys
from .adapters.sqlite.store import SqliteStore
from .auth import TokenVerifier
from .http import health, neighbourhoods, officers
from .http.auth import auth_middleware
from .http.openapi import RequestValidator, load_spec
from .http.problem import problem_middleware
from .http.routing import RouteRoles, register
from .ports import Clock, Store, SystemClock
from .services.geofence import GeofenceService
from .services.neighbourhoods import NeighbourhoodService
from .services.officers import OfficerService
from .settings import Settings

log = logging.getLogger(__name__)


def make_store(settings: Settings) -> Store:
    """The store adapter the settings select."""
    if settings.store_kind == "sqlite":
        return SqliteStore(settings.sqlite_path, synchronous=settings.sqlite_synchronous)
    raise NotImplementedError("the MongoDB store is not built yet; use a sqlite:/// store")


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = app[keys.STORE]
    await store.open()
    yield
    await store.close()


async def _geofence_ctx(app: web.Application) -> AsyncIterator[None]:
    geofence = app[keys.GEOFENCE]
    await geofence.refresh()
    task = asyncio.create_task(geofence.run(app[keys.SETTINGS].geofence_refresh_s),
                               name="geofence-refresh")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings, *, store: Store | None = None,
               clock: Clock | None = None) -> web.Application:
    """Build the application; overrides replace adapters (tests pass fakes). Nothing connects
    until the app starts."""
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[problem_middleware, auth_middleware])
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or SystemClock()
    app[keys.STORE] = store or make_store(settings)
    app[keys.VERIFIER] = TokenVerifier(settings.resolve_jwt_secret())
    app[keys.REQUEST_VALIDATOR] = RequestValidator(load_spec())
    app[keys.GEOFENCE] = GeofenceService(app[keys.STORE])
    app[keys.NEIGHBOURHOODS] = NeighbourhoodService(app[keys.STORE], app[keys.GEOFENCE])
    app[keys.OFFICERS] = OfficerService(app[keys.STORE])
    table: RouteRoles = {}
    for module in (health, neighbourhoods, officers):
        register(app, module.ROUTES, table)
    app[keys.ROUTE_ROLES] = table
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_geofence_ctx)
    return app
