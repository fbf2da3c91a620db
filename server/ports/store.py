"""The whole store: every role port at once, which is what each adapter implements.

Services take only the roles they use (see the other modules here); `Store` is for what
really needs all of it: the app that opens and closes the adapter, the metered wrapper, the
HTTP handlers that read it, and the store contract tests.
"""

from __future__ import annotations

from typing import Protocol

from .alerts import AlertReads, DeliveryStore
from .audit import AuditStore
from .credentials import ApiKeyStore, RevocationStore
from .cursors import CursorStore
from .events import EventLog
from .incidents import IncidentReads
from .ingest import IngestStore
from .neighbourhoods import NeighbourhoodStore
from .officers import DeviceStore, OfficerStore
from .redaction import RedactionStore
from .replies import ReplyStore
from .reports import ReportQueries
from .steps import StepQueue
from .transitions import TransitionStore


class Lifecycle(Protocol):
    """Connecting, and telling whether the store answers (the health check)."""

    async def open(self) -> None:
        """Connect and bring the schema up to date."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

    async def ping(self) -> None:
        """Raise if the store does not answer."""
        ...


# Every role a store adapter plays, in one tuple: tests/test_ports.py checks each adapter
# against each of these, and that Store is exactly their union.
ROLES: tuple[type, ...] = (
    Lifecycle, NeighbourhoodStore, OfficerStore, DeviceStore, IngestStore, TransitionStore,
    StepQueue, IncidentReads, AlertReads, DeliveryStore, EventLog, AuditStore, ApiKeyStore,
    RevocationStore, RedactionStore, CursorStore, ReplyStore, ReportQueries)


class Store(Lifecycle, NeighbourhoodStore, OfficerStore, DeviceStore, IngestStore,
            TransitionStore, StepQueue, IncidentReads, AlertReads, DeliveryStore, EventLog,
            AuditStore, ApiKeyStore, RevocationStore, RedactionStore, CursorStore, ReplyStore,
            ReportQueries, Protocol):
    """Everything the domain persists. A returned call means the change is committed."""
