"""Reads of reports across incidents: the control room's view of what came in."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..domain.records import Report


class ReportQueries(Protocol):
    """Reports by source and time, whatever incident they joined."""

    async def find_reports(self, *, source: str | None = None, since: datetime | None = None,
                           before_id: str | None = None, limit: int = 50) -> list[Report]:
        """Reports newest first, by source and received time; `before_id` pages on."""
        ...
