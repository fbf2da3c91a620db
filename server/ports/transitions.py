"""The incident's unit of work: every change after ingest, applied whole or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..domain.transitions import Transition


class TransitionStore(Protocol):
    """Versioned commits of an incident with its alerts and events: the one way escalation,
    acknowledgement, take, assign and resolve write (a lost race re-reads and re-decides)."""

    async def commit_transition(self, t: Transition) -> bool:
        """Apply all of t if the stored incident version equals t.incident.version."""
        ...

    async def commit_transitions(self, ts: Sequence[Transition]) -> list[bool]:
        """commit_transition for each of ts (a batch's starts, one per incident), each
        guarded by its own version; True where it was applied. SQLite writes them all in one
        unit of work, so if that fails it raises and none is applied. MongoDB commits each
        through commit_transition, each crash-safe alone; if one raises, the rest finish
        first, then the exception is raised (a caller re-reads to see which were applied)."""
        ...
