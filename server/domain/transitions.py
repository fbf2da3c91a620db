"""Units of change the store applies atomically, guarded by the incident's version."""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import Alert, Event, Incident


@dataclass(frozen=True)
class Transition:
    """Write `incident` (if the stored version still equals incident.version), plus alerts
    and events, all or nothing. The store bumps the version."""

    incident: Incident
    alerts: tuple[Alert, ...] = ()
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class IngestPlan:
    """What ingesting a report does to its incident (decided inside the store's transaction)."""

    incident: Incident
    created: bool
    events: tuple[Event, ...] = field(default_factory=tuple)
