"""Bearer-token authentication and per-route role checks."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..auth import Forbidden, Unauthorized
from ..domain.model import Principal
from .routing import Handler

PRINCIPAL = web.RequestKey("principal", Principal)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the token against the roles the matched route declares."""
    route = request.match_info.route
    if request.match_info.http_exception is not None:
        return await handler(request)  # unknown route or method: let it 404/405
    key = (route.method, route.resource.canonical if route.resource else "")
    table = request.app[keys.ROUTE_ROLES]
    if key not in table:
        raise RuntimeError(f"route {key} declares no roles")  # a programming error: 500
    roles = table[key]
    if roles is None:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send Authorization: Bearer <token>")
    principal = request.app[keys.VERIFIER].verify(token.strip())
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"role {principal.role.value!r} may not call this route ({allowed} may)")
    request[PRINCIPAL] = principal
    return await handler(request)


def principal_of(request: web.Request) -> Principal:
    """The authenticated caller (set by auth_middleware)."""
    return request[PRINCIPAL]
