"""Authentication (bearer JWT, API key, or webhook signature) and per-route role checks."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from .. import keys
from ..auth import Forbidden, Unauthorized
from ..domain.model import Principal, Role
from ..security import signatures
from .routing import Handler

log = logging.getLogger(__name__)
PRINCIPAL = web.RequestKey("principal", Principal)
KEY_HEADER, TS_HEADER, SIG_HEADER = ("X-Bluelight-Key", "X-Bluelight-Timestamp",
                                     "X-Bluelight-Signature")


async def _signed(request: web.Request) -> Principal:
    kid = request.headers.get(KEY_HEADER, "")
    try:
        principal, secret = await request.app[keys.API_KEYS].signing_secret(kid)
        body = await request.read()
        signatures.check(secret, request.headers.get(TS_HEADER, ""),
                         request.headers[SIG_HEADER], body, time.time())
        if not request.app[keys.SEEN_SIGNATURES].first_use(request.headers[SIG_HEADER],
                                                            time.time()):
            raise signatures.SignatureError("this signature was already used (a replay)")
    except (signatures.SignatureError, Unauthorized) as exc:
        # Logged and audited, never stored: the body is dropped with the request.
        log.warning("rejected a signed request for key %r from %s: %s", kid, request.remote, exc)
        await request.app[keys.AUDIT].record(None, "auth_rejected", request.path,
                                             request.remote, {"key": kid, "reason": str(exc)})
        raise Unauthorized(f"the signature was rejected: {exc}") from None
    return principal


async def authenticate(request: web.Request) -> Principal:
    """Whoever the request speaks for, by the first credential it carries."""
    if SIG_HEADER in request.headers:
        return await _signed(request)
    api_key = request.headers.get("X-API-Key")
    if api_key:
        return await request.app[keys.API_KEYS].verify(api_key.strip())
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token> (or X-API-Key for connectors)")
    return await request.app[keys.VERIFIER].verify(token.strip())


def route_roles(request: web.Request) -> frozenset[Role] | None:
    """The roles the matched route allows (None: open)."""
    route = request.match_info.route
    key = (route.method, route.resource.canonical if route.resource else "")
    table = request.app[keys.ROUTE_ROLES]
    if key not in table:
        raise RuntimeError(f"route {key} declares no roles")  # a programming error: 500
    return table[key]


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the caller against the roles the matched route declares."""
    if request.match_info.http_exception is not None:
        return await handler(request)  # unknown route or method: let it 404/405
    roles = route_roles(request)
    if roles is None:
        return await handler(request)
    principal = await authenticate(request)
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"role {principal.role.value!r} may not call this route ({allowed} may)")
    request[PRINCIPAL] = principal
    return await handler(request)


def principal_of(request: web.Request) -> Principal:
    """The authenticated caller (set by auth_middleware)."""
    return request[PRINCIPAL]
