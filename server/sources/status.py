"""What each source is doing, for GET /v1/sources and /readyz."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..services.intake import Kept

COUNTS = ("seen", "kept", "ingested", "duplicates", "dropped", "deleted", "gaps", "errors",
          "reconnects")


class State(enum.Enum):
    """A source's connection state."""

    CONNECTING = "connecting"
    LIVE = "live"
    CATCHING_UP = "catching_up"
    BACKING_OFF = "backing_off"
    FAILED = "failed"       # an error retrying cannot fix (bad secret): still retried, slowly
    STOPPED = "stopped"


@dataclass
class SourceStatus:
    """Mutable, owned by one source's task; read by the API."""

    id: str
    type: str
    state: State = State.CONNECTING
    cursor: str | None = None
    last_event_at: datetime | None = None   # the newest event's own time (for the lag)
    last_error: str | None = None
    last_error_at: datetime | None = None
    counts: Counter[str] = field(default_factory=Counter)

    def error(self, message: str, now: datetime) -> None:
        """Record an error (it stays visible until the next one)."""
        self.counts["errors"] += 1
        self.last_error, self.last_error_at = message[:500], now

    def counted(self, kept: Kept) -> None:
        """Count what became of one post offered to the intake."""
        if kept is Kept.DROPPED:
            self.counts["dropped"] += 1
            return
        self.counts["kept"] += 1
        self.counts["ingested" if kept is Kept.INGESTED else "duplicates"] += 1

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """The JSON view."""
        lag = (None if self.last_event_at is None
               else round(max(0.0, (now - self.last_event_at).total_seconds()), 3))
        return {
            "id": self.id, "type": self.type, "state": self.state.value, "lag_s": lag,
            "cursor": self.cursor, "counts": {k: self.counts[k] for k in COUNTS},
            "last_error": self.last_error,
            "last_error_at": None if self.last_error_at is None
            else self.last_error_at.isoformat()}
