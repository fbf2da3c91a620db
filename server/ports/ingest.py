"""Ingest's unit of work: store a report once and group it into an incident atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from ..domain.records import Incident, Report
from ..domain.transitions import IngestPlan


class IngestStore(Protocol):
    """Reports in, grouped: the only writes that create incidents. `plan` is the domain's
    grouping decision, run by the store inside the unit so two posts about one event cannot
    both open an incident."""

    async def ingest_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None,
                            ) -> tuple[Report, Incident | None, IngestPlan | None]:
        """Store a report once and group it atomically; a repeat returns the stored one and
        no plan. `plan` gets open incidents of the report's neighbourhood seen since
        `window_start` (of these categories, when given)."""
        ...

    async def orphan_reports(self, received_before: datetime) -> list[Report]:
        """Reports stored without an incident (a crash between two writes), to regroup."""
        ...

    async def attach_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None) -> IngestPlan:
        """Group a stored report that has no incident yet."""
        ...
