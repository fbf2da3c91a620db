"""The step queue: escalation deadlines as the store keeps them, for timers and the sweep."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class StepQueue(Protocol):
    """Each incident's next step and when it is due. Deadlines live in the store (written
    by transitions), so any instance can arm or sweep them after a restart."""

    async def due_steps(self, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
        """(incident id, step_seq) of every step whose deadline has passed."""
        ...

    async def pending_steps(self) -> list[tuple[str, int, datetime]]:
        """Every scheduled step (incident id, step_seq, when)."""
        ...
