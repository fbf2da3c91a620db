"""Grouping: which open incident a report joins, or a new incident for it."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .geo import EARTH_RADIUS_M, distance_m
from .records import Category, Incident, IncidentStatus, Report, new_id

# Posts about one event use different words: an explosion is also a fire and a hazard.
_FAMILIES: tuple[frozenset[Category], ...] = (
    frozenset({Category.FIRE, Category.HAZARD}),
    frozenset({Category.VIOLENCE, Category.CRIME_IN_PROGRESS, Category.PUBLIC_ORDER}),
)
SUMMARY_CHARS = 280
# (south, north, west, east) in degrees.
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class GroupingRules:
    """How close in time and space two posts must be to be one event."""

    window: timedelta = timedelta(minutes=15)
    radius_m: float = 500.0


def compatible(a: Category, b: Category) -> bool:
    """True if posts of these categories can be about the same event."""
    return a == b or any(a in f and b in f for f in _FAMILIES)


@functools.cache
def compatible_with(category: Category) -> tuple[str, ...]:
    """Every category a post of this category may share an incident with."""
    return tuple(c.value for c in Category if compatible(category, c))


def reach(report: Report, rules: GroupingRules) -> Box | None:
    """A box holding every point within the grouping radius of the report, with room to
    spare: a store may skip located incidents outside it (they are too far to join) rather
    than read every open incident of the neighbourhood. None without coordinates, for a
    radius over ~100 km, or where a box is not simple (near a pole, across 180 degrees)."""
    if report.lat is None or report.lon is None:
        return None
    dlat = math.degrees(rules.radius_m / EARTH_RADIUS_M) * 1.01 + 1e-9
    south, north = report.lat - dlat, report.lat + dlat
    if dlat > 1.0 or north >= 89.0 or south <= -89.0:
        return None
    dlon = dlat / math.cos(math.radians(max(abs(south), abs(north))))
    west, east = report.lon - dlon, report.lon + dlon
    if west < -180.0 or east > 180.0:
        return None
    return south, north, west, east


def choose_incident(report: Report, candidates: Sequence[Incident],
                    rules: GroupingRules) -> Incident | None:
    """The open incident this report belongs to (nearest, then most recent), or None."""
    best: tuple[float, float, Incident] | None = None
    for inc in candidates:
        if inc.status is IncidentStatus.RESOLVED or inc.neighbourhood_id != report.neighbourhood_id:
            continue
        if not compatible(inc.category, report.triage.category):
            continue
        if abs(report.posted_at - inc.last_seen_at) > rules.window and not (
                inc.first_seen_at <= report.posted_at <= inc.last_seen_at):
            continue
        distance = 0.0
        if None not in (report.lat, report.lon, inc.lat, inc.lon):
            distance = distance_m(report.lat, report.lon, inc.lat, inc.lon)  # type: ignore[arg-type]
            if distance > rules.radius_m:
                continue
        key = (distance, -inc.last_seen_at.timestamp(), inc)
        if best is None or key[:2] < best[:2]:
            best = key
    return None if best is None else best[2]


def open_incident(report: Report, now: datetime) -> Incident:
    """A new incident whose first report is this one."""
    located = report.lat is not None and report.lon is not None
    return Incident(
        id=new_id("inc", now), status=IncidentStatus.OPEN, priority=report.triage.priority,
        category=report.triage.category, neighbourhood_id=report.neighbourhood_id,
        first_seen_at=report.posted_at, last_seen_at=report.posted_at, created_at=now,
        updated_at=now, summary=report.text[:SUMMARY_CHARS], report_count=1,
        lat=report.lat, lon=report.lon, located_reports=1 if located else 0,
        score=_concern(report))


def absorb(incident: Incident, report: Report, now: datetime) -> Incident:
    """The incident after a report joins it: counts, times, location, priority."""
    lat, lon, n = incident.lat, incident.lon, incident.located_reports
    if report.lat is not None and report.lon is not None:
        # Running mean of the located reports: the event's representative location.
        lat = report.lat if lat is None else lat + (report.lat - lat) / (n + 1)
        lon = report.lon if lon is None else lon + (report.lon - lon) / (n + 1)
        n += 1
    raised = report.triage.priority.higher_than(incident.priority)
    return replace(
        incident, report_count=incident.report_count + 1,
        first_seen_at=min(incident.first_seen_at, report.posted_at),
        last_seen_at=max(incident.last_seen_at, report.posted_at), lat=lat, lon=lon,
        located_reports=n, updated_at=now,
        priority=report.triage.priority if raised else incident.priority,
        category=report.triage.category if raised else incident.category,
        summary=report.text[:SUMMARY_CHARS] if raised else incident.summary,
        score=_higher(incident.score, _concern(report)))


def _concern(report: Report) -> float | None:
    """The report's concern; its score for a report stored before concerns were kept."""
    t = report.triage
    return t.score if t.concern is None else t.concern


def _higher(a: float | None, b: float | None) -> float | None:
    """The higher of two scores, either of which may be missing (a post not scored)."""
    return b if a is None else a if b is None else max(a, b)
