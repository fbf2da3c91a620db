"""The incident's unit of work: every change after ingest, applied whole or not at all."""

from __future__ import annotations

from typing import Protocol

from ..domain.transitions import Transition


class TransitionStore(Protocol):
    """Versioned commits of an incident with its alerts and events: the one way escalation,
    acknowledgement, take, assign and resolve write (a lost race re-reads and re-decides)."""

    async def commit_transition(self, t: Transition) -> bool:
        """Apply all of t if the stored incident version equals t.incident.version."""
        ...
