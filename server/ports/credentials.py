"""Credentials the store keeps: connector API keys, and revoked bearer tokens.

`ApiKey` is the stored record, so it lives here with its port rather than beside the code
that mints keys (server/security/apikeys.py): the store adapters and the port then need
nothing of cryptography.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..domain.model import Role


@dataclass(frozen=True)
class ApiKey:
    """A connector's credentials, as stored (no plaintext)."""

    id: str
    name: str
    key_hash: str
    signing_secret_enc: str
    created_at: datetime
    created_by: str
    role: str = Role.INGEST.value
    revoked_at: datetime | None = None
    sources: tuple[str, ...] = ()  # normalised source names it may write; empty: any


class ApiKeyStore(Protocol):
    """Connector keys, kept hashed (the signing secret encrypted), never deleted."""

    async def put_api_key(self, key: ApiKey) -> None:
        """Insert or replace a connector key."""
        ...

    async def get_api_key(self, kid: str) -> ApiKey | None:
        """One key."""
        ...

    async def list_api_keys(self) -> list[ApiKey]:
        """All keys, oldest first."""
        ...


class RevocationStore(Protocol):
    """Revoked bearer tokens, by their `jti`, shared by every instance."""

    async def revoke_token(self, token_id: str, by: str, now: datetime) -> bool:
        """Record that a bearer token (its `jti`) is revoked; False if it already was."""
        ...

    async def token_revoked(self, token_id: str) -> bool:
        """True once `token_id` has been revoked."""
        ...
