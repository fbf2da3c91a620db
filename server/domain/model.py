"""Value objects of the domain: neighbourhoods, officers, devices, roles."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Role(enum.StrEnum):
    """Who a bearer token speaks for."""

    ADMIN = "admin"
    CONTROL_ROOM = "control_room"
    OFFICER = "officer"
    INGEST = "ingest"


class Rank(enum.StrEnum):
    """An officer's rank, as far as alerting cares."""

    OFFICER = "officer"
    SUPERVISOR = "supervisor"


class Platform(enum.StrEnum):
    """The kind of device a push token belongs to."""

    ANDROID = "android"
    IOS = "ios"
    WEB = "web"
    # The officer app's open event stream (GET /v1/me/events): makes an officer with no
    # push token reachable; nothing is pushed to it, and an alert nobody sees still expires
    # and escalates like any other.
    STREAM = "stream"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    sub: str
    role: Role
    # The sources an ingest credential may write (normalised names); None: any source.
    sources: frozenset[str] | None = None
    # The duty session a token was issued for; the token is refused once it has ended.
    session: str | None = None
    # The token's `jti`, by which an admin can revoke it before it expires.
    token_id: str | None = None

    def may_write(self, source: str) -> bool:
        """True if this caller may store or delete posts of `source` (normalised)."""
        return self.sources is None or source in self.sources


@dataclass(frozen=True)
class Neighbourhood:
    """A geofenced area with a name and the place names that locate posts in it."""

    id: str
    name: str
    geometry: dict[str, Any]
    places: tuple[str, ...] = ()
    area_m2: float = 0.0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class LocationFix:
    """A position report from an officer's phone."""

    lat: float
    lon: float
    recorded_at: datetime
    accuracy_m: float | None = None


@dataclass(frozen=True)
class OfficerProfile:
    """What an administrator sets about an officer."""

    id: str
    name: str
    callsign: str
    rank: Rank = Rank.OFFICER
    neighbourhood_ids: tuple[str, ...] = ()


class OfficerStatus(enum.StrEnum):
    """What an on-duty officer is doing: dispatch alerts available officers first."""

    AVAILABLE = "available"
    COMMITTED = "committed"      # acknowledged an alert or was assigned one
    ON_SCENE = "on_scene"
    UNAVAILABLE = "unavailable"  # meal, court, off radio: never alerted


@dataclass(frozen=True)
class Officer:
    """An officer with profile, duty state and last known location."""

    profile: OfficerProfile
    on_duty: bool = False
    status: OfficerStatus = OfficerStatus.AVAILABLE
    status_at: datetime | None = None
    status_incident_id: str | None = None   # the incident a committed officer is on
    duty_changed_at: datetime | None = None
    location: LocationFix | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    device_count: int = 0        # devices of the current duty session (those pushed)
    session_id: str | None = None  # the open duty session; None off duty

    @property
    def id(self) -> str:
        """The officer's id."""
        return self.profile.id


@dataclass(frozen=True)
class Device:
    """A push token registered by an officer's app."""

    token: str
    officer_id: str
    platform: Platform
    registered_at: datetime


@dataclass(frozen=True)
class ImportRejection:
    """One feature of an import that was not stored, and why."""

    index: int
    reason: str
    id: str | None = None


@dataclass(frozen=True)
class Overlap:
    """Two neighbourhoods whose areas overlap, which can misroute alerts."""

    a: str
    b: str
    area_m2: float


@dataclass(frozen=True)
class ImportSummary:
    """The outcome of a bulk neighbourhood import."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rejected: list[ImportRejection] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
