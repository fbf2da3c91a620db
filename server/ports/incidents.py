"""Reads of incidents and their reports (writes go through ingest and transitions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..domain.records import Incident, Report


class IncidentReads(Protocol):
    """Incidents, the control room's escalation queue, and each incident's reports."""

    async def get_incident(self, iid: str) -> Incident | None:
        """One incident."""
        ...

    async def get_incidents(self, ids: Sequence[str]) -> list[Incident]:
        """Several incidents in one read, in the order asked, each once; those that do not
        exist are left out."""
        ...

    async def list_incidents(self, *, status: str | None = None, priority: str | None = None,
                             neighbourhood_id: str | None = None, since: datetime | None = None,
                             before_id: str | None = None, limit: int = 50) -> list[Incident]:
        """Incidents newest first, filtered and paged."""
        ...

    async def escalation_queue(self) -> list[Incident]:
        """Escalated incidents not yet taken by the control room, oldest first."""
        ...

    async def get_report(self, rid: str) -> Report | None:
        """One report."""
        ...

    async def list_reports(self, incident_id: str, limit: int = 500) -> list[Report]:
        """An incident's reports, oldest first."""
        ...
