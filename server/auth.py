"""Embedded bearer-token auth: HS256 JWTs carrying `sub` and `role`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from .domain.errors import DomainError
from .domain.model import Principal, Role
from .domain.sources import normalise_source
from .security.tokencache import TokenCache

ISSUER = "bluelight"
ALGORITHM = "HS256"
# PyJWT is imported where it is used: it loads cryptography, 40 ms of start-up before
# readiness. A server imports it in the warm-up after start-up (app.py).


class Unauthorized(DomainError):
    """Missing or invalid credentials."""

    code = "unauthorized"
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    """Valid credentials, wrong role for this route."""

    code = "forbidden"
    status = 403
    title = "Forbidden"


class SourceNotAllowed(Forbidden):
    """An ingest credential bound to other sources."""

    code = "source_not_allowed"


def mint_token(secret: str, *, sub: str, role: Role, now: datetime, ttl_s: int,
               sources: Sequence[str] = (), session: str | None = None) -> str:
    """Sign a token for `sub` acting as `role`, valid for `ttl_s` seconds (an ingest token
    may be bound to the sources it writes)."""
    claims: dict[str, object] = {
        "iss": ISSUER, "sub": sub, "role": role.value, "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp())}
    if sources:
        claims["sources"] = sorted({normalise_source(s) for s in sources})
    if session:
        claims["sid"] = session
    claims["jti"] = secrets.token_urlsafe(12)   # so it can be revoked before it expires
    import jwt

    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def token_id(token: str) -> str | None:
    """The `jti` of a token, read without checking it (to print beside a minted token)."""
    import jwt

    found = jwt.decode(token, options={"verify_signature": False}).get("jti")
    return found if isinstance(found, str) else None


class Verifier(Protocol):
    """Turns a bearer token into a principal, or raises Unauthorized."""

    async def verify(self, token: str) -> Principal:
        """The principal the token speaks for."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class TokenVerifier:
    """Checks bearer tokens against the HS256 secret (the embedded auth)."""

    def __init__(self, secret: str, *, leeway_s: int = 30) -> None:
        self._secret = secret
        self._leeway = leeway_s
        self._verified = TokenCache()

    async def close(self) -> None:
        """Nothing to release."""

    def issue(self, principal: Principal, now: datetime, ttl_s: int, session: str) -> str:
        """A token for the same caller, bound to a duty session."""
        return mint_token(self._secret, sub=principal.sub, role=principal.role, now=now,
                          ttl_s=ttl_s, session=session)

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthorized with the reason otherwise."""
        found = self._verified.get(token)
        if found is None:
            found, claims = self._check(token)
            self._verified.put(token, found, claims)
        return found

    def _check(self, token: str) -> tuple[Principal, dict[str, Any]]:
        import jwt

        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                leeway=self._leeway,
                                options={"require": ["sub", "role", "exp", "iss"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the token is invalid: {exc}") from None
        try:
            role = Role(claims["role"])
        except ValueError:
            raise Unauthorized(f"the token's role {claims['role']!r} is unknown") from None
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub:
            raise Unauthorized("the token's sub must be a non-empty string")
        bound = claims.get("sources")
        if bound is not None and not (isinstance(bound, list)
                                      and all(isinstance(s, str) for s in bound)):
            raise Unauthorized("the token's sources must be a list of names")
        sid = claims.get("sid")
        if sid is not None and not (isinstance(sid, str) and sid):
            raise Unauthorized("the token's sid must be a non-empty string")
        jti = claims.get("jti")
        return Principal(sub=sub, role=role,
                         sources=None if bound is None else frozenset(bound), session=sid,
                         token_id=jti if isinstance(jti, str) and jti else None), claims
