"""Bearer tokens already verified, until they expire.

Checking a JWT's signature and claims cost ~140 us, once per request on the ingest path,
where a connector sends the same token thousands of times a minute. A token's verdict
cannot change before its `exp` (the signature and the claims are the token itself), so the
principal is remembered, keyed by the exact token string, until then. Revocation and duty
sessions are not verdicts of the token: auth_middleware still checks both on every request.
Only valid tokens are remembered (a failure costs the full check every time).
"""

from __future__ import annotations

import time
from typing import Any

from ..domain.model import Principal

SIZE = 10_000   # tokens remembered per process (~3 MB)


class TokenCache:
    """Principals by token, each until its token's expiry (wall clock), at most SIZE."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._found: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        """The principal of a token verified before and not yet expired, or None."""
        hit = self._found.get(token)
        if hit is None:
            return None
        if time.time() >= hit[1]:
            del self._found[token]
            return None
        return hit[0]

    def put(self, token: str, principal: Principal, claims: dict[str, Any]) -> None:
        """Remember a token that was just verified, until its `exp` claim."""
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            return
        if len(self._found) >= self._size:
            # Full: drop the oldest tenth (dicts keep insertion order), not one at a time.
            for stale in list(self._found)[: max(1, self._size // 10)]:
                del self._found[stale]
        self._found[token] = (principal, float(expires))
