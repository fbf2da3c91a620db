"""Ports: the protocols that the services depend on and the adapters implement.

The store is split by use, a module per role (neighbourhoods, officers and devices, ingest,
transitions, the step queue, incident and alert reads, the event log, audit, credentials,
redaction, cursors, replies, report queries); each service takes the narrowest roles it
calls. `Store` (store.py) is their union, the one thing each store adapter implements.
Nothing here imports an adapter or a library heavier than the domain's own.
"""

from .alerts import AlertReads, DeliveryStore
from .audit import AuditStore
from .clock import Clock, SystemClock, Timer, TimerCallback
from .credentials import ApiKey, ApiKeyStore, RevocationStore
from .cursors import CursorStore
from .events import EventLog
from .incidents import IncidentReads
from .ingest import IngestItem, IngestStore, Stored
from .neighbourhoods import NeighbourhoodStore
from .officers import DeviceStore, OfficerStore
from .push import Push, PushMessage, PushOutcome
from .redaction import RedactionStore
from .replies import ReplySender, ReplyStore
from .reports import ReportQueries
from .steps import StepQueue
from .store import ROLES, Lifecycle, Store
from .transitions import TransitionStore

__all__ = [
    "ROLES", "AlertReads", "ApiKey", "ApiKeyStore", "AuditStore", "Clock", "CursorStore",
    "DeliveryStore", "DeviceStore", "EventLog", "IncidentReads", "IngestItem", "IngestStore",
    "Lifecycle", "NeighbourhoodStore", "OfficerStore", "Push", "PushMessage", "PushOutcome",
    "RedactionStore", "ReplySender", "ReplyStore", "ReportQueries", "RevocationStore",
    "StepQueue", "Store", "Stored", "SystemClock", "Timer", "TimerCallback",
    "TransitionStore",
]
