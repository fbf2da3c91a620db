"""Where inbound sources keep their place in a network's stream."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class CursorStore(Protocol):
    """A cursor per source (only the sources use it): saved after each post is stored, so
    a restart resumes where the last stored post was, and nothing is skipped."""

    async def get_cursor(self, source_id: str) -> str | None:
        """The cursor last saved for a source, or None."""
        ...

    async def put_cursor(self, source_id: str, cursor: str, now: datetime) -> None:
        """Save a source's cursor (replacing the previous one)."""
        ...
