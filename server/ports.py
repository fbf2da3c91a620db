"""Ports: the protocols that the services depend on and the adapters implement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from .domain.model import (
    Device,
    LocationFix,
    Neighbourhood,
    Officer,
    OfficerProfile,
    OfficerStatus,
)
from .domain.records import Alert, Delivery, Event, Incident, Reply, Report
from .domain.transitions import IngestPlan, Transition
from .security.apikeys import ApiKey
from .security.hashchain import AuditEntry


class Clock(Protocol):
    """Tells the time; tests pass a fake one."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


TimerCallback = Callable[[], Awaitable[object]]


class Timer(Protocol):
    """Runs callbacks when the Clock reaches a time: APScheduler in production, a fake that
    tests advance. Calls outside start..shutdown do nothing (deadlines live in the store,
    and whoever starts re-arms them from there)."""

    def start(self) -> None:
        """Begin firing (inside the running event loop)."""
        ...

    def shutdown(self) -> None:
        """Stop firing and forget every callback."""
        ...

    def at(self, key: str, when: datetime, callback: TimerCallback) -> None:
        """Await `callback` once the Clock reads `when` (late, never early, never dropped),
        replacing whatever was armed under `key` and has not started yet."""
        ...

    def every(self, key: str, seconds: float, callback: TimerCallback) -> None:
        """Await `callback` every `seconds`, one run at a time; missed runs coalesce."""
        ...

    def cancel(self, key: str) -> None:
        """Forget what is armed under `key`, if anything."""
        ...


class CursorStore(Protocol):
    """Where inbound sources keep their place in a stream (only sources use it)."""

    async def get_cursor(self, source_id: str) -> str | None:
        """The cursor last saved for a source, or None."""
        ...

    async def put_cursor(self, source_id: str, cursor: str, now: datetime) -> None:
        """Save a source's cursor (replacing the previous one)."""
        ...


class ReportQueries(Protocol):
    """Reads of reports across incidents (the control room's view of what came in)."""

    async def find_reports(self, *, source: str | None = None, since: datetime | None = None,
                           before_id: str | None = None, limit: int = 50) -> list[Report]:
        """Reports newest first, by source and received time; `before_id` pages on."""
        ...


class ReplyStore(Protocol):
    """Replies to posters (only the reply service uses it)."""

    async def put_reply(self, reply: Reply) -> None:
        """Insert or replace a reply."""
        ...

    async def list_replies(self, incident_id: str) -> list[Reply]:
        """An incident's replies, oldest first."""
        ...


class ReplySender(Protocol):
    """Sends one reply on one network; raises ReplyFailed with a reason a person can read."""

    async def send(self, report: Report, text: str, key: str) -> str:
        """Reply to `report`; `key` is the same for every retry of this reply (the network
        uses it to refuse a second copy). Returns the reply's id on the network."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class SecurityStore(Protocol):
    """What the security features persist: keys, the audit log, retention."""

    async def put_api_key(self, key: ApiKey) -> None:
        """Insert or replace a connector key."""
        ...

    async def get_api_key(self, kid: str) -> ApiKey | None:
        """One key."""
        ...

    async def list_api_keys(self) -> list[ApiKey]:
        """All keys, oldest first."""
        ...

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Number, chain and append an entry (atomically with respect to other writers)."""
        ...

    async def list_audit(self, after_seq: int = 0, limit: int = 500) -> list[AuditEntry]:
        """Audit entries in order."""
        ...

    async def revoke_token(self, token_id: str, by: str, now: datetime) -> bool:
        """Record that a bearer token (its `jti`) is revoked; False if it already was."""
        ...

    async def token_revoked(self, token_id: str) -> bool:
        """True once `token_id` has been revoked."""
        ...

    async def purge_content(self, received_before: datetime, limit: int = 1000) -> int:
        """Remove report text and authors (and incident summaries) older than the cutoff."""
        ...

    async def redact_report(self, source: str, external_id: str) -> Report | None:
        """Remove one post's content at its source's request; None if unknown."""
        ...


class Store(SecurityStore, CursorStore, ReplyStore, ReportQueries, Protocol):
    """Everything the domain persists. A returned call means the change is committed."""

    async def open(self) -> None:
        """Connect and bring the schema up to date."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

    async def ping(self) -> None:
        """Raise if the store does not answer."""
        ...

    # Neighbourhoods
    async def put_neighbourhoods(self, items: Sequence[Neighbourhood]) -> list[bool]:
        """Create or replace neighbourhoods in one unit; True for each that was created."""
        ...

    async def get_neighbourhood(self, nid: str) -> Neighbourhood | None:
        """One neighbourhood, or None."""
        ...

    async def list_neighbourhoods(self, *, with_geometry: bool = True) -> list[Neighbourhood]:
        """All neighbourhoods ordered by id."""
        ...

    async def delete_neighbourhood(self, nid: str) -> bool:
        """Delete one neighbourhood; False when it did not exist."""
        ...

    async def neighbourhoods_version(self) -> int:
        """A counter that rises with every neighbourhood change (for index refresh)."""
        ...

    # Officers
    async def put_officer(self, profile: OfficerProfile, now: datetime) -> tuple[Officer, bool]:
        """Create or update an officer's profile, keeping duty and location; True if created."""
        ...

    async def get_officer(self, oid: str) -> Officer | None:
        """One officer, or None."""
        ...

    async def list_officers(self) -> list[Officer]:
        """All officers ordered by id."""
        ...

    async def set_duty(self, oid: str, on_duty: bool, now: datetime,
                       session_id: str | None = None) -> Officer | None:
        """Go on duty, opening `session_id` if off duty (devices registered while off duty
        join it), or off duty, ending the session (its devices are pushed no more);
        None if no such officer."""
        ...

    async def set_status(self, oid: str, status: OfficerStatus, incident_id: str | None,
                         now: datetime, *, only_if_incident: str | None = None
                         ) -> Officer | None:
        """Set an officer's status (guarded by their current incident if given)."""
        ...

    async def update_location(self, oid: str, fix: LocationFix) -> tuple[Officer | None, bool]:
        """Store the fix unless an equal or newer one is stored; True if it was applied."""
        ...

    async def put_device(self, device: Device) -> str | None:
        """Register a token to an officer (moving it if another had it) in the officer's
        current duty session; the previous owner."""
        ...

    async def delete_device(self, oid: str, token: str) -> bool:
        """Remove an officer's token; False when the officer did not have it."""
        ...

    async def list_devices(self, oid: str) -> list[Device]:
        """An officer's registered devices."""
        ...

    async def on_duty_officers(self, fresh_since: datetime) -> list[Officer]:
        """Officers on duty whose last fix is at or after `fresh_since`."""
        ...

    async def devices_for(self, officer_ids: Sequence[str]) -> list[Device]:
        """The devices of these officers' current duty sessions (the ones to push)."""
        ...

    async def forget_token(self, token: str) -> bool:
        """Remove a token that the push service says is dead."""
        ...

    # The alert loop
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

    async def commit_transition(self, t: Transition) -> bool:
        """Apply all of t if the stored incident version equals t.incident.version."""
        ...

    async def get_report(self, rid: str) -> Report | None:
        """One report."""
        ...

    async def list_reports(self, incident_id: str, limit: int = 500) -> list[Report]:
        """An incident's reports, oldest first."""
        ...

    async def get_incident(self, iid: str) -> Incident | None:
        """One incident."""
        ...

    async def list_incidents(self, *, status: str | None = None, priority: str | None = None,
                             neighbourhood_id: str | None = None, since: datetime | None = None,
                             before_id: str | None = None, limit: int = 50) -> list[Incident]:
        """Incidents newest first, filtered and paged."""
        ...

    async def due_steps(self, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
        """(incident id, step_seq) of every step whose deadline has passed."""
        ...

    async def pending_steps(self) -> list[tuple[str, int, datetime]]:
        """Every scheduled step (incident id, step_seq, when)."""
        ...

    async def escalation_queue(self) -> list[Incident]:
        """Escalated incidents not yet taken by the control room, oldest first."""
        ...

    async def get_alert(self, aid: str) -> Alert | None:
        """One alert."""
        ...

    async def list_alerts(self, incident_id: str) -> list[Alert]:
        """An incident's alerts, oldest first."""
        ...

    async def open_alerts_for(self, officer_id: str) -> list[Alert]:
        """Pending alerts sent to this officer."""
        ...

    async def pending_alerts(self, limit: int = 200) -> list[Alert]:
        """Alerts still waiting for an acknowledgement, oldest first."""
        ...

    async def put_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Insert or replace delivery records."""
        ...

    async def list_deliveries(self, alert_ids: Sequence[str]) -> list[Delivery]:
        """Deliveries of these alerts."""
        ...

    async def add_events(self, events: Sequence[Event]) -> None:
        """Append events."""
        ...

    async def events_after(self, after_id: int, *, limit: int = 500,
                           incident_id: str | None = None) -> list[Event]:
        """Events with id > after_id, oldest first."""
        ...

    async def last_event_id(self) -> int:
        """The newest event's id (0 when there are none)."""
        ...


@dataclass(frozen=True)
class PushMessage:
    """One push to one device: a data payload and, for alerts, a visible notification."""

    token: str
    data: dict[str, str]
    ttl_s: int
    title: str | None = None
    body: str | None = None
    urgent: bool = True


@dataclass(frozen=True)
class PushOutcome:
    """What the push service said about one message."""

    status: Literal["sent", "unregistered", "invalid", "retry", "failed"]
    message_id: str | None = None
    error_code: str | None = None
    retry_after_s: float | None = None


class Push(Protocol):
    """Sends push messages; never raises for a per-message failure."""

    async def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        """One outcome per message, in order."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
