"""Push: what the notifier sends to officers' phones, and what came of each message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class PushMessage:
    """One push to one device: a data payload and, for alerts, a visible notification."""

    token: str
    data: dict[str, str]
    ttl_s: int
    title: str | None = None
    body: str | None = None
    urgent: bool = True


@dataclass(frozen=True)
class PushOutcome:
    """What the push service said about one message."""

    status: Literal["sent", "unregistered", "invalid", "retry", "failed"]
    message_id: str | None = None
    error_code: str | None = None
    retry_after_s: float | None = None


class Push(Protocol):
    """Sends push messages; never raises for a per-message failure."""

    async def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        """One outcome per message, in order."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
