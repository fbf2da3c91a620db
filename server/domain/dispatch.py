"""Officer selection for one wave: on duty, fresh fix, reachable, nearest first."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .geo import distance_m
from .model import Officer, OfficerStatus, Rank


@dataclass(frozen=True)
class WaveSpec:
    """One wave of an escalation policy."""

    radius_m: float
    officers: int
    ack_timeout_s: float
    include_supervisors: bool = False
    include_committed: bool = False   # also officers already on an incident (a last resort)


@dataclass(frozen=True)
class Pick:
    """A selected officer and how far they are from the incident."""

    officer_id: str
    distance_m: float
    assigned: bool
    busy: bool = False   # committed or on scene: picked only after every free officer


def _usable(lat: object, lon: object) -> bool:
    return (isinstance(lat, int | float) and isinstance(lon, int | float)
            and math.isfinite(lat) and math.isfinite(lon))


def select_officers(officers: Iterable[Officer], *, target: tuple[float, float],
                    neighbourhood_id: str | None, wave: WaveSpec, max_fix_age: timedelta,
                    exclude: Sequence[str], now: datetime) -> list[Pick]:
    """Eligible officers within the wave's radius: free before busy (busy only in a wave
    that includes them), then those assigned to the neighbourhood, then the nearest."""
    excluded = set(exclude)
    picks: list[Pick] = []
    for o in officers:
        loc = o.location
        if loc is not None and not _usable(loc.lat, loc.lon):
            continue  # one bad fix (NULL or NaN from an older version) must not stop dispatch
        busy = o.status is not OfficerStatus.AVAILABLE
        if (not o.on_duty or loc is None or o.device_count == 0 or o.id in excluded
                or o.status is OfficerStatus.UNAVAILABLE
                or (busy and not wave.include_committed)
                or now - loc.recorded_at > max_fix_age
                or (o.profile.rank is Rank.SUPERVISOR and not wave.include_supervisors)):
            continue
        d = distance_m(target[0], target[1], loc.lat, loc.lon)
        if d <= wave.radius_m:
            assigned = neighbourhood_id in o.profile.neighbourhood_ids
            picks.append(Pick(o.id, round(d, 1), assigned, busy))
    picks.sort(key=lambda p: (p.busy, not p.assigned, p.distance_m, p.officer_id))
    return picks[:wave.officers]
