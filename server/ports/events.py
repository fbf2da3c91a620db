"""The event log: every incident's timeline, and what live streams follow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..domain.records import Event


class EventLog(Protocol):
    """Events numbered in commit order. Transitions append their own events atomically;
    `add_events` is for what changes no incident (an officer on scene, a device moved, a
    reply sent)."""

    async def add_events(self, events: Sequence[Event]) -> None:
        """Append events."""
        ...

    async def events_after(self, after_id: int, *, limit: int = 500,
                           incident_id: str | None = None) -> list[Event]:
        """Events with id > after_id, oldest first."""
        ...

    async def last_event_id(self) -> int:
        """The newest event's id (0 when there are none)."""
        ...
