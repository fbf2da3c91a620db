"""The records of the alert loop: reports, incidents, alerts, deliveries and events."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Priority(enum.StrEnum):
    """P1 emergency (life at risk, crime in progress) down to P4 (no action)."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 for P1 ... 4 for P4: lower is more urgent."""
        return int(self.value[1])

    def higher_than(self, other: Priority) -> bool:
        """True if self is more urgent than other."""
        return self.rank < other.rank


class Band(enum.StrEnum):
    """What triage asks of people: alert officers, a control-room look, or just record."""

    ALERT = "alert"
    REVIEW = "review"
    RECORD = "record"

    @staticmethod
    def of(priority: Priority) -> Band:
        """The band a priority is in."""
        return (Band.ALERT if priority.rank <= 2 else
                Band.REVIEW if priority is Priority.P3 else Band.RECORD)

    @property
    def priority(self) -> Priority:
        """The least urgent priority in the band (P2 for alert)."""
        return {Band.ALERT: Priority.P2, Band.REVIEW: Priority.P3,
                Band.RECORD: Priority.P4}[self]


class Category(enum.StrEnum):
    """What a report is about."""

    MEDICAL = "medical"
    CRIME_IN_PROGRESS = "crime_in_progress"
    VIOLENCE = "violence"
    FIRE = "fire"
    SELF_HARM = "self_harm"
    MISSING_PERSON = "missing_person"
    TRAFFIC = "traffic"
    PUBLIC_ORDER = "public_order"
    HAZARD = "hazard"
    INFORMATION = "information"
    OTHER = "other"


class Outcome(enum.StrEnum):
    """What the control room found when it resolved an incident: triage learns from it."""

    EMERGENCY = "emergency"
    NOT_AN_EMERGENCY = "not_an_emergency"
    DUPLICATE = "duplicate"
    UNKNOWN = "unknown"


class IncidentStatus(enum.StrEnum):
    """Where an incident is in its life."""

    OPEN = "open"
    ALERTING = "alerting"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class AlertStatus(enum.StrEnum):
    """Where one wave's alert is; only one transition out of pending ever succeeds."""

    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    DECLINED_ALL = "declined_all"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


def new_id(prefix: str, now: datetime) -> str:
    """A unique id that sorts by creation time (milliseconds, then randomness)."""
    return f"{prefix}_{int(now.timestamp() * 1000):012x}{secrets.token_hex(5)}"


@dataclass(frozen=True)
class Triage:
    """The outcome of triage and the cues (matched phrases) that decided it."""

    category: Category
    priority: Priority
    cues: tuple[str, ...] = ()
    score: float | None = None  # the model's probability that someone needs help now
    lang: str | None = None     # the language triage took the post to be in
    # How much a person should worry, to order the review queue: the score, or more where a
    # post was queued for another reason (a `kind:` category's probability; 1.0 for an author
    # followed up). None: not scored (a language the model does not read).
    concern: float | None = None

    @property
    def band(self) -> Band:
        """alert (P1/P2: officers now), review (P3: a person looks), record (P4)."""
        return Band.of(self.priority)


@dataclass(frozen=True)
class Report:
    """One post, stored once per (source, external_id)."""

    id: str
    source: str
    external_id: str
    text: str
    posted_at: datetime
    received_at: datetime
    triage: Triage
    author: str | None = None
    url: str | None = None
    lang: str | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    place: str | None = None
    neighbourhood_id: str | None = None
    located_by: str | None = None
    incident_id: str | None = None
    redacted: str | None = None  # why the text is gone: retention, or the source deleted it


@dataclass(frozen=True)
class Incident:
    """Posts about one event; escalation state lives here, guarded by `version`."""

    id: str
    status: IncidentStatus
    priority: Priority
    category: Category
    neighbourhood_id: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    created_at: datetime
    updated_at: datetime
    summary: str
    report_count: int = 1
    lat: float | None = None
    lon: float | None = None
    located_reports: int = 0
    version: int = 0
    wave: int = 0
    policy_priority: Priority | None = None
    current_alert_id: str | None = None
    # Who the latest alert (a wave or an assignment) went to: kept after it closes, so the
    # control room sees who was alerted and did not answer.
    alerted: tuple[str, ...] = ()
    next_step_at: datetime | None = None
    step_seq: int = 0
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    escalated_at: datetime | None = None
    escalation_reason: str | None = None
    taken_by: str | None = None
    taken_at: datetime | None = None
    assigned_to: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None
    outcome: Outcome | None = None
    # The highest concern (Triage.concern) among its reports: the review queue is read from
    # the top, and a third of ordinary chatter reaches it (README, Triage).
    score: float | None = None


@dataclass(frozen=True)
class Alert:
    """One wave (or one assignment) sent to a set of officers."""

    id: str
    incident_id: str
    wave: int
    kind: str
    priority: Priority
    recipients: tuple[str, ...]
    status: AlertStatus
    created_at: datetime
    deadline: datetime | None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None
    declines: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """What happened to one push to one device."""

    id: str
    alert_id: str
    officer_id: str
    token: str
    kind: str
    status: str
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    message_id: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class Event:
    """A persisted state change: the timeline and the live stream read these."""

    kind: str
    at: datetime
    incident_id: str | None = None
    alert_id: str | None = None
    actor: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: int = 0


class ReplyStatus(enum.StrEnum):
    """Where a reply to a poster is."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Reply:
    """A message sent back to a poster on the post's own network."""

    id: str
    incident_id: str
    report_id: str
    source: str
    text: str
    status: ReplyStatus
    requested_by: str
    created_at: datetime
    updated_at: datetime
    template: str | None = None
    remote_id: str | None = None
    reason: str | None = None
