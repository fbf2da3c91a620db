"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", within a replay window."""

from __future__ import annotations

import hashlib
import hmac

REPLAY_WINDOW_S = 300


class SignatureError(ValueError):
    """Why a signature was refused."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def check(secret: str, timestamp_header: str, signature_header: str, body: bytes,
          now: float, window_s: int = REPLAY_WINDOW_S) -> None:
    """Raise SignatureError unless the signature is valid and recent."""
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        raise SignatureError("the timestamp is not unix seconds") from None
    if abs(now - timestamp) > window_s:
        raise SignatureError(f"the timestamp is outside the {window_s} s replay window")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature_header.strip()):
        raise SignatureError("the signature does not match the body")


class SeenSignatures:
    """Signatures used within the replay window (per instance): a replay is refused."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def first_use(self, signature: str, now: float) -> bool:
        if len(self._seen) > 100_000:
            self._seen = {s: t for s, t in self._seen.items()
                          if now - t < REPLAY_WINDOW_S}
        if signature in self._seen:
            return False
        self._seen[signature] = now
        return True
