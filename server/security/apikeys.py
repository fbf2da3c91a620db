"""API keys for ingest connectors: shown once, stored hashed, listed and revoked by admins.

Each key also has a webhook signing secret. HMAC needs the secret itself on the server, so
it is stored encrypted (Fernet) under a key derived from the server secret: a copy of the
database alone signs nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ..auth import Unauthorized
from ..domain.errors import NotFound
from ..domain.model import Principal, Role
from ..domain.sources import normalise_source
from ..ports.credentials import ApiKey, ApiKeyStore

if TYPE_CHECKING:   # imported when first needed: cryptography is 20 ms of start-up
    from cryptography.fernet import Fernet

PREFIX = "blk"
CACHE_S = 5.0  # a revoked key stops working on every instance within this long


def _hash(plaintext: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


class ApiKeys:
    """Creates, checks and revokes connector keys."""

    def __init__(self, store: ApiKeyStore, server_secret: str) -> None:
        self._store = store
        digest = hashlib.sha256(b"bluelight-signing:" + server_secret.encode()).digest()
        self._fernet_key = base64.urlsafe_b64encode(digest)
        self._fernet_made: Fernet | None = None
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    @property
    def _fernet(self) -> Fernet:
        if self._fernet_made is None:
            from cryptography.fernet import Fernet

            self._fernet_made = Fernet(self._fernet_key)
        return self._fernet_made

    async def create(self, name: str, actor: str, now: datetime,
                     sources: Sequence[str] = ()) -> tuple[ApiKey, str, str]:
        """A new key: (record, the key to send as X-API-Key, the webhook signing secret),
        bound to `sources` if any are given."""
        kid = secrets.token_hex(6)
        plaintext = f"{PREFIX}_{kid}_{secrets.token_urlsafe(32)}"
        signing = secrets.token_urlsafe(32)
        record = ApiKey(id=kid, name=name, key_hash=_hash(plaintext),
                        signing_secret_enc=self._fernet.encrypt(signing.encode()).decode(),
                        created_at=now, created_by=actor,
                        sources=tuple(sorted({normalise_source(s) for s in sources})))
        await self._store.put_api_key(record)
        return record, plaintext, signing

    async def revoke(self, kid: str, now: datetime) -> ApiKey:
        """Revoke a key for good."""
        record = await self._store.get_api_key(kid)
        if record is None:
            raise NotFound("api_key", kid)
        if record.revoked_at is None:
            record = replace(record, revoked_at=now)
            await self._store.put_api_key(record)
        self._cache.pop(kid, None)
        return record

    async def list_all(self) -> list[ApiKey]:
        """Every key, revoked ones included."""
        return await self._store.list_api_keys()

    async def _active(self, kid: str) -> ApiKey:
        cached = self._cache.get(kid)
        if cached is None or time.monotonic() - cached[0] > CACHE_S:
            cached = (time.monotonic(), await self._store.get_api_key(kid))
            self._cache[kid] = cached
        record = cached[1]
        if record is None or record.revoked_at is not None:
            raise Unauthorized("the API key is unknown or revoked")
        return record

    async def verify(self, plaintext: str) -> Principal:
        """The principal of a valid X-API-Key."""
        parts = plaintext.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            raise Unauthorized("the API key is malformed")
        record = await self._active(parts[1])
        if not hmac.compare_digest(record.key_hash, _hash(plaintext)):
            raise Unauthorized("the API key is unknown or revoked")
        return _principal(record)

    async def signing_secret(self, kid: str) -> tuple[Principal, str]:
        """The principal and webhook signing secret of an active key."""
        record = await self._active(kid)
        secret = self._fernet.decrypt(record.signing_secret_enc.encode()).decode()
        return _principal(record), secret


def _principal(record: ApiKey) -> Principal:
    return Principal(sub=f"apikey:{record.id}", role=Role(record.role),
                     sources=frozenset(record.sources) if record.sources else None)
