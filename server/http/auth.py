"""Authentication (bearer JWT, API key, or webhook signature) and per-route role checks."""

from __future__ import annotations

import logging
import math
import time

from aiohttp import web

from .. import keys, logs
from ..auth import Forbidden, Unauthorized
from ..domain.model import Principal, Role
from ..security import signatures
from ..security.ratelimit import Rate
from .problem import problem
from .routing import Handler

log = logging.getLogger(__name__)
PRINCIPAL = web.RequestKey("principal", Principal)
KEY_HEADER, TS_HEADER, SIG_HEADER = ("X-Bluelight-Key", "X-Bluelight-Timestamp",
                                     "X-Bluelight-Signature")


class SignatureRejected(Unauthorized):
    """A signed request that failed its check (audited, within the failure limit)."""

    def __init__(self, kid: str, reason: str) -> None:
        super().__init__(f"the signature was rejected: {reason}")
        self.kid, self.reason = kid, reason


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
        raise SignatureRejected(kid, str(exc)) from None  # audited by auth_middleware
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


# Failed authentications per client address (`auth_failures` in BLUELIGHT_RATE_LIMITS,
# default a burst of 20, then one every 10 s). Past that the address gets 429 before any
# credential is checked or any audit row written, so a flood of forged signatures costs
# neither CPU nor the audit log (which keeps the first `burst` and one note per flood).
AUTH_FAILURES = Rate(per_s=0.1, burst=20.0)
FLOOD_NOTE = Rate(per_s=1 / 600, burst=1.0)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the caller against the roles the matched route declares."""
    if request.match_info.http_exception is not None:
        return await handler(request)  # unknown route or method: let it 404/405
    roles = route_roles(request)
    if roles is None:
        return await handler(request)
    try:
        principal = await authenticate(request)
    except Unauthorized as exc:
        wait = await _failed(request, exc)
        if wait > 0:
            return problem(429, "rate_limited", "too many failed authentications from this "
                           "address; wait before trying again",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})
        raise
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"role {principal.role.value!r} may not call this route ({allowed} may)")
    if principal.token_id is not None and await request.app[keys.REVOCATIONS].revoked(
            principal.token_id):
        raise Unauthorized("the token has been revoked")
    if principal.session is not None:
        # A token issued for a duty session dies with it (a lost phone stops working when
        # its officer goes off duty or signs out elsewhere, or an admin ends the session).
        officer = await request.app[keys.STORE].get_officer(principal.sub)
        if officer is None or officer.session_id != principal.session:
            raise Unauthorized("the duty session this token was issued for has ended")
    request[PRINCIPAL] = principal
    who = logs.PRINCIPAL.set(f"{principal.role.value}:{principal.sub}")
    try:
        return await handler(request)
    finally:
        logs.PRINCIPAL.reset(who)


async def _failed(request: web.Request, exc: Unauthorized) -> float:
    """Count a failed authentication against the client's address. Within the limit it is
    logged and (a signature) audited as before; past it the answer is 429 and nothing is
    written but one note per flood, so forged requests cannot fill the audit log. Valid
    credentials are never refused by address (several clients may share one, behind a
    proxy or NAT)."""
    limiter, now = request.app[keys.RATE_LIMITER], time.monotonic()
    failures = request.app[keys.AUTH_FAILURES]
    wait = limiter.take(f"authfail:{request.remote}", failures, now)
    audit = request.app[keys.AUDIT]
    if wait == 0:
        if isinstance(exc, SignatureRejected):
            # Logged and audited, never stored: the body is dropped with the request.
            log.warning("rejected a signed request for key %r from %s: %s", exc.kid,
                        request.remote, exc.reason)
            await audit.record(None, "auth_rejected", request.path, request.remote,
                               {"key": exc.kid, "reason": exc.reason})
    elif limiter.take(f"authflood:{request.remote}", FLOOD_NOTE, now) == 0:
        log.warning("answering 429 to %s after repeated failed authentications",
                    request.remote)
        await audit.record(None, "auth_rejected_flood", request.path, request.remote,
                           {"allowed": f"{failures.burst:g} failures, then one every "
                                       f"{1 / failures.per_s:g} s"})
    return wait


def principal_of(request: web.Request) -> Principal:
    """The authenticated caller (set by auth_middleware)."""
    return request[PRINCIPAL]


async def reads_content(request: web.Request, what: str, count: int) -> bool:
    """Whether the caller is shown what the public wrote in `count` items of `what`; the
    rule and the audit of such a read are the audit service's."""
    return await request.app[keys.AUDIT].reads_content(principal_of(request), what,
                                                       request.remote, count)
