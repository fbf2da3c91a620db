"""Ingest's unit of work: store a report once and group it into an incident atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..domain.grouping import Box
from ..domain.records import Incident, Report
from ..domain.transitions import IngestPlan
from ..security.hashchain import AuditEntry

# The stored report, its incident, and the plan when this call stored it (None: a repeat).
Stored = tuple[Report, Incident | None, IngestPlan | None]


@dataclass(frozen=True)
class IngestItem:
    """One post of a batch: ingest_report's arguments."""

    report: Report
    window_start: datetime
    plan: Callable[[list[Incident]], IngestPlan]
    categories: Sequence[str] | None = None
    near: Box | None = None


class IngestStore(Protocol):
    """Reports in, grouped: the only writes that create incidents. `plan` is the domain's
    grouping decision, run by the store inside the unit so two posts about one event cannot
    both open an incident."""

    async def ingest_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None,
                            audit: Callable[[bool], AuditEntry] | None = None,
                            near: Box | None = None,
                            ) -> tuple[Report, Incident | None, IngestPlan | None]:
        """Store a report once and group it atomically; a repeat returns the stored one and
        no plan. `plan` gets open incidents of the report's neighbourhood seen since
        `window_start` (of these categories, when given; a store may leave out those with
        coordinates outside `near`, which are too far to join). `audit`, given whether the
        report was new, is the audit entry to append with it (in the same transaction where
        the store has them)."""
        ...

    async def ingest_reports(self, items: Sequence[IngestItem]) -> list[Stored | Exception]:
        """ingest_report for each item, in order (a later post may join an incident an
        earlier one opened, or repeat it), as few writes as the store can make of it; each
        item's outcome, or the exception that refused it alone (a bad post never costs the
        others theirs)."""
        ...

    async def orphan_reports(self, received_before: datetime) -> list[Report]:
        """Reports stored without an incident (a crash between two writes), to regroup."""
        ...

    async def attach_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None) -> IngestPlan:
        """Group a stored report that has no incident yet."""
        ...
