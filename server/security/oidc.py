"""Validating the force identity provider's JWTs (OIDC): issuer, audience, JWKS keys."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import jwt

from ..auth import Unauthorized
from ..domain.model import Principal, Role
from .tokencache import TokenCache

log = logging.getLogger(__name__)
ALGORITHMS = ("RS256", "ES256")
# An unknown kid triggers a JWKS refresh, but a flood of forged kids must not flood the IdP.
MIN_REFRESH_S = 10.0


class OidcVerifier:
    """Checks RS256/ES256 tokens against the IdP's JWKS (cached, refreshed on unknown kid)."""

    def __init__(self, *, issuer: str, audience: str, jwks_url: str, role_claim: str,
                 role_map: Sequence[tuple[str, str]], leeway_s: int = 30) -> None:
        self._issuer, self._audience, self._jwks_url = issuer, audience, jwks_url
        self._role_claim, self._leeway = role_claim, leeway_s
        # Claim values map to roles in the order given; a role's own name maps to itself.
        self._role_map = [(v, Role(r)) for v, r in role_map] + [(r.value, r) for r in Role]
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -MIN_REFRESH_S
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._verified = TokenCache()

    async def close(self) -> None:
        """Close the HTTP session to the IdP."""
        if self._session is not None:
            await self._session.close()

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < MIN_REFRESH_S:
                return  # another request just refreshed (or we must not hammer the IdP)
            self._fetched_at = time.monotonic()
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
            try:
                async with self._session.get(self._jwks_url) as r:
                    r.raise_for_status()
                    data = await r.json(content_type=None)
                keys = {}
                for jwk in data.get("keys", []):
                    try:
                        key = jwt.PyJWK(jwk)
                    except jwt.PyJWTError:
                        continue  # a key type we do not use
                    if key.key_id:
                        keys[key.key_id] = key
                self._keys = keys
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("could not fetch the JWKS from %s: %s", self._jwks_url, exc)

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys:
            await self._refresh()
        if kid not in self._keys:
            raise Unauthorized(f"the token's signing key {kid!r} is unknown")
        return self._keys[kid]

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthorized with the reason otherwise."""
        found = self._verified.get(token)
        if found is not None:
            return found
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the token is invalid: {exc}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS or not isinstance(kid, str):
            raise Unauthorized(f"tokens must be {' or '.join(ALGORITHMS)} with a kid")
        key = await self._key(kid)
        try:
            claims = jwt.decode(token, key, algorithms=[alg], audience=self._audience,
                                issuer=self._issuer, leeway=self._leeway,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the token is invalid: {exc}") from None
        jti = claims.get("jti")
        found = Principal(sub=str(claims["sub"]), role=self._role(claims),
                          token_id=jti if isinstance(jti, str) and jti else None)
        self._verified.put(token, found, claims)
        return found

    def _role(self, claims: dict[str, Any]) -> Role:
        raw = claims.get(self._role_claim)
        values = raw if isinstance(raw, list) else [raw]
        for claim_value, role in self._role_map:
            if claim_value in values:
                return role
        raise Unauthorized(f"the token's {self._role_claim!r} claim grants no Bluelight role")
