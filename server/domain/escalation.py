"""Escalation policy: given an incident's state, the next step (a decision, not an action)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .dispatch import Pick, WaveSpec, select_officers
from .model import Officer
from .records import Priority


class PolicyError(ValueError):
    """The policy file is malformed; the message says where."""


@dataclass(frozen=True)
class Policy:
    """Waves per priority; after the last wave (or with none) the control room takes over."""

    waves: Mapping[Priority, tuple[WaveSpec, ...]]
    max_fix_age: timedelta = timedelta(minutes=10)
    # Incidents less urgent than this are recorded for review, never queued for the room.
    control_room_min: Priority = Priority.P3

    def waves_for(self, priority: Priority) -> tuple[WaveSpec, ...]:
        """The waves for a priority (none if unlisted)."""
        return self.waves.get(priority, ())

    def needs_control_room(self, priority: Priority) -> bool:
        """True if an incident of this priority must reach the control room."""
        return not self.control_room_min.higher_than(priority)

    def acting_priorities(self) -> list[Priority]:
        """Priorities that alert officers or reach the control room."""
        return [p for p in Priority if self.waves_for(p) or self.needs_control_room(p)]


DEFAULT_POLICY: dict[str, Any] = {
    "priorities": {
        "P1": {"waves": [{"radius_m": 2000, "officers": 3, "ack_timeout_s": 30},
                         {"radius_m": 5000, "officers": 6, "ack_timeout_s": 30,
                          "include_supervisors": True, "include_committed": True}]},
        "P2": {"waves": [{"radius_m": 3000, "officers": 2, "ack_timeout_s": 120}]},
        "P3": {"waves": []},
        "P4": {"waves": []},
    },
}


def parse_policy(data: Mapping[str, Any]) -> Policy:
    """Build a Policy from the YAML structure; raise PolicyError naming the bad entry."""
    waves: dict[Priority, tuple[WaveSpec, ...]] = {}
    try:
        for key, spec in (data.get("priorities") or {}).items():
            prio = Priority(key)
            items = []
            for i, w in enumerate(spec.get("waves") or []):
                wave = WaveSpec(radius_m=float(w["radius_m"]), officers=int(w["officers"]),
                                ack_timeout_s=float(w["ack_timeout_s"]),
                                include_supervisors=bool(w.get("include_supervisors", False)),
                                include_committed=bool(w.get("include_committed", False)))
                if wave.radius_m <= 0 or wave.officers < 1 or wave.ack_timeout_s <= 0:
                    raise PolicyError(f"priorities.{key}.waves[{i}]: radius_m, officers and "
                                      "ack_timeout_s must be positive")
                items.append(wave)
            waves[prio] = tuple(items)
        max_age = timedelta(seconds=float(data.get("max_fix_age_s", 600)))
        room_min = Priority(data.get("control_room_min_priority", "P3"))
    except PolicyError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PolicyError(f"malformed escalation policy: {exc!r}") from None
    return Policy(waves=waves, max_fix_age=max_age, control_room_min=room_min)


@dataclass(frozen=True)
class StartWave:
    """Alert these officers as wave `wave` (1-based) until `deadline`."""

    wave: int
    recipients: tuple[Pick, ...]
    deadline: datetime
    skipped: tuple[int, ...] = ()


@dataclass(frozen=True)
class EscalateToControlRoom:
    """Hand the incident to the control room, saying why."""

    reason: str
    skipped: tuple[int, ...] = ()


@dataclass(frozen=True)
class RecordOnly:
    """Nothing to alert: the incident stays open for review."""

    reason: str


Decision = StartWave | EscalateToControlRoom | RecordOnly


@dataclass(frozen=True)
class StepInput:
    """What the policy needs to know to decide the next step."""

    priority: Priority
    after_wave: int
    target: tuple[float, float] | None
    neighbourhood_id: str | None
    already_alerted: Sequence[str] = field(default_factory=tuple)


def next_step(policy: Policy, state: StepInput, officers: Sequence[Officer],
              now: datetime) -> Decision:
    """The next wave with anyone eligible in it, else the control room (or record only)."""
    waves = policy.waves_for(state.priority)
    if not waves and not policy.needs_control_room(state.priority):
        return RecordOnly(f"{state.priority.value} needs no action")
    if state.target is None:
        return EscalateToControlRoom("the incident has no location")
    skipped: list[int] = []
    for index in range(state.after_wave, len(waves)):
        wave = waves[index]
        picks = select_officers(officers, target=state.target,
                                neighbourhood_id=state.neighbourhood_id, wave=wave,
                                max_fix_age=policy.max_fix_age,
                                exclude=state.already_alerted, now=now)
        if picks:
            return StartWave(index + 1, tuple(picks),
                             now + timedelta(seconds=wave.ack_timeout_s), tuple(skipped))
        skipped.append(index + 1)
    if not waves:
        reason = f"the policy has no waves for {state.priority.value}"
    elif state.after_wave == 0 and skipped:
        reason = "no eligible officer in any wave"
    else:
        reason = f"no acknowledgement after wave {max(state.after_wave, len(waves))}"
    return EscalateToControlRoom(reason, tuple(skipped))
