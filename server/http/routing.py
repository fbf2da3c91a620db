"""Route declarations: each route names the roles allowed to call it (None means open)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from ..domain.model import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RouteRoles = dict[tuple[str, str], frozenset[Role] | None]

ADMIN = frozenset({Role.ADMIN})
CONTROL = frozenset({Role.ADMIN, Role.CONTROL_ROOM})
OFFICER = frozenset({Role.OFFICER})
INGEST = frozenset({Role.INGEST})
STAFF = frozenset({Role.ADMIN, Role.CONTROL_ROOM, Role.OFFICER})


@dataclass(frozen=True)
class Route:
    """One method on one path template, its handler and who may call it."""

    method: str
    path: str
    handler: Handler
    roles: frozenset[Role] | None


def register(app: web.Application, routes: Iterable[Route], table: RouteRoles) -> None:
    """Add routes to the router and record their roles for the auth middleware."""
    for r in routes:
        route = app.router.add_route(r.method, r.path, r.handler)
        assert route.resource is not None
        table[(r.method, route.resource.canonical)] = r.roles
