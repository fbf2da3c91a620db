"""Revoking bearer tokens by their `jti`, before they expire.

Every token `server token` mints carries a random `jti` (printed beside it). An admin revokes
one with `DELETE /v1/tokens/{jti}`; when the admin's own token is the one that leaked, whoever
holds the signing secret mints a fresh admin token and revokes the old one. A force's IdP
tokens are revoked the same way when they carry a `jti`.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from datetime import datetime

from ..domain.errors import FieldError, ValidationFailed
from ..ports.credentials import RevocationStore

CACHE_S = 5.0          # a revocation reaches every instance within this long
CACHE_SIZE = 10_000    # token ids remembered per process (checked once per CACHE_S each)
TOKEN_ID = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")


def check_token_id(token_id: str) -> str:
    """A well-formed token id, or ValidationFailed."""
    if not TOKEN_ID.match(token_id):
        raise ValidationFailed("invalid token id", errors=[FieldError(
            "jti", "8-128 characters: letters, digits and _ . : -")])
    return token_id


class Revocations:
    """Answers "is this token revoked?" from a short per-process cache over the store."""

    def __init__(self, store: RevocationStore) -> None:
        self._store = store
        self._seen: OrderedDict[str, tuple[float, bool]] = OrderedDict()

    async def revoke(self, token_id: str, by: str, now: datetime) -> bool:
        """Revoke a token id; False if it already was."""
        fresh = await self._store.revoke_token(check_token_id(token_id), by, now)
        self._seen[token_id] = (time.monotonic(), True)
        return fresh

    async def revoked(self, token_id: str) -> bool:
        """True if the token id has been revoked (on any instance, within CACHE_S)."""
        now = time.monotonic()
        hit = self._seen.get(token_id)
        if hit is not None and (hit[1] or now - hit[0] < CACHE_S):
            self._seen.move_to_end(token_id)
            return hit[1]     # a revocation is for good: no need to ask again
        answer = await self._store.token_revoked(token_id)
        self._seen[token_id] = (now, answer)
        self._seen.move_to_end(token_id)
        while len(self._seen) > CACHE_SIZE:
            self._seen.popitem(last=False)
        return answer
