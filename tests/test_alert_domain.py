"""Pure domain tests: gazetteer, grouping, officer selection, escalation policy, steps."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from server.domain import steps
from server.domain.dispatch import WaveSpec, select_officers
from server.domain.errors import Conflict
from server.domain.escalation import (
    DEFAULT_POLICY,
    EscalateToControlRoom,
    PolicyError,
    RecordOnly,
    StartWave,
    StepInput,
    next_step,
    parse_policy,
)
from server.domain.gazetteer import Gazetteer
from server.domain.grouping import GroupingRules, absorb, choose_incident, open_incident
from server.domain.model import LocationFix, Officer, OfficerProfile, Rank
from server.domain.records import (
    AlertStatus,
    Category,
    IncidentStatus,
    Priority,
    Report,
    Triage,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
WHITEHALL = (51.5045, -0.1263)


def report(text: str = "explosion", cat: Category = Category.FIRE, prio: Priority = Priority.P1,
           at: datetime = T0, lat: float | None = WHITEHALL[0], lon: float | None = WHITEHALL[1],
           nid: str | None = "stj", rid: str = "r1") -> Report:
    return Report(id=rid, source="x", external_id=rid, text=text, posted_at=at, received_at=at,
                  triage=Triage(cat, prio), lat=lat, lon=lon, neighbourhood_id=nid)


def officer(oid: str, lat: float, lon: float, *, on_duty: bool = True, age_s: float = 30,
            devices: int = 1, rank: Rank = Rank.OFFICER, hoods: tuple[str, ...] = ()) -> Officer:
    return Officer(profile=OfficerProfile(oid, oid, oid, rank, hoods), on_duty=on_duty,
                   location=LocationFix(lat, lon, T0 - timedelta(seconds=age_s)),
                   device_count=devices)


def test_gazetteer_longest_match_and_ambiguity() -> None:
    g = Gazetteer([("stj", ["St James's", "Whitehall", "High Street"]),
                   ("soho", ["Soho", "Old Compton Street", "High Street"])])
    assert g.match("fight on Old Compton Street!") == ("soho", "old compton street")
    assert g.match("smoke over WHITEHALL.") == ("stj", "whitehall")
    assert g.match("st. james's park is closed") == ("stj", "st james")
    assert g.match("St James park") == ("stj", "st james")
    assert g.match("crash on the High Street") is None  # ambiguous: better unlocated
    assert g.match("whitehallish") is None  # word boundaries


def test_surge_joins_one_incident_and_lone_post_stands_out() -> None:
    rules = GroupingRules()
    first = open_incident(report(), T0)
    incidents = [first]
    for i in range(1, 200):
        r = report(text="huge blast", rid=f"r{i}", at=T0 + timedelta(seconds=i),
                   lat=WHITEHALL[0] + (i % 7) * 1e-4, lon=WHITEHALL[1])
        joined = choose_incident(r, incidents, rules)
        assert joined is not None and joined.id == first.id
        incidents = [absorb(joined, r, T0)]
    assert incidents[0].report_count == 200
    lone = report("my dad can't breathe", Category.MEDICAL, rid="lone",
                  lat=WHITEHALL[0] + 0.002, at=T0 + timedelta(seconds=30))
    assert choose_incident(lone, incidents, rules) is None


def test_grouping_respects_window_distance_and_neighbourhood() -> None:
    rules = GroupingRules(window=timedelta(minutes=15), radius_m=500)
    inc = open_incident(report(), T0)
    assert choose_incident(report(at=T0 + timedelta(minutes=16)), [inc], rules) is None
    assert choose_incident(report(lat=WHITEHALL[0] + 0.01), [inc], rules) is None  # ~1.1 km
    assert choose_incident(report(nid="soho"), [inc], rules) is None
    assert choose_incident(report(cat=Category.HAZARD, prio=Priority.P3), [inc], rules) == inc
    resolved = replace(inc, status=IncidentStatus.RESOLVED)
    assert choose_incident(report(), [resolved], rules) is None


def test_absorb_raises_priority_and_moves_location() -> None:
    inc = open_incident(report(cat=Category.HAZARD, prio=Priority.P3), T0)
    after = absorb(inc, report(lat=WHITEHALL[0] + 0.001, rid="r2"), T0)
    assert after.priority is Priority.P1 and after.category is Category.FIRE
    assert after.report_count == 2 and after.lat == pytest.approx(WHITEHALL[0] + 0.0005)


def test_an_incident_keeps_the_highest_score_of_its_reports() -> None:
    """The review queue is ordered by it: a worrying post joining a mild one lifts it."""
    def scored(score: float | None, rid: str) -> Report:
        return replace(report(cat=Category.OTHER, prio=Priority.P3, rid=rid),
                       triage=Triage(Category.OTHER, Priority.P3, score=score))

    inc = open_incident(scored(0.2, "r1"), T0)
    assert inc.score == 0.2
    inc = absorb(inc, scored(0.6, "r2"), T0)
    assert inc.score == 0.6
    assert absorb(inc, scored(0.1, "r3"), T0).score == 0.6
    assert absorb(inc, scored(None, "r4"), T0).score == 0.6   # a post the model did not read
    assert absorb(open_incident(scored(None, "r5"), T0), scored(0.3, "r6"), T0).score == 0.3
    goodbye = replace(scored(0.01, "r7"), triage=Triage(Category.SELF_HARM, Priority.P3,
                                                        score=0.01, concern=0.41))
    assert absorb(inc, goodbye, T0).score == 0.6 and open_incident(goodbye, T0).score == 0.41


def test_officer_selection_rules() -> None:
    wave = WaveSpec(radius_m=2000, officers=3, ack_timeout_s=30)
    officers = [
        officer("near", 51.505, -0.126),
        officer("assigned-far", 51.51, -0.14, hoods=("stj",)),
        officer("off-duty", 51.5045, -0.1263, on_duty=False),
        officer("stale", 51.5045, -0.1263, age_s=3600),
        officer("no-device", 51.5045, -0.1263, devices=0),
        officer("sergeant", 51.5045, -0.1263, rank=Rank.SUPERVISOR),
        officer("too-far", 51.60, -0.126),
        officer("mid", 51.507, -0.126),
    ]
    picks = select_officers(officers, target=WHITEHALL, neighbourhood_id="stj", wave=wave,
                            max_fix_age=timedelta(minutes=10), exclude=(), now=T0)
    assert [p.officer_id for p in picks] == ["assigned-far", "near", "mid"]
    with_sup = select_officers(officers, target=WHITEHALL, neighbourhood_id=None,
                               wave=replace(wave, include_supervisors=True, officers=1),
                               max_fix_age=timedelta(minutes=10), exclude=(), now=T0)
    assert [p.officer_id for p in with_sup] == ["sergeant"]


def test_policy_waves_skip_to_control_room() -> None:
    policy = parse_policy(DEFAULT_POLICY)
    officers = [officer("a", 51.505, -0.126), officer("b", 51.53, -0.126)]  # b ~2.8 km
    state = StepInput(Priority.P1, 0, WHITEHALL, "stj")
    first = next_step(policy, state, officers, T0)
    assert isinstance(first, StartWave) and first.wave == 1
    assert [p.officer_id for p in first.recipients] == ["a"]
    assert first.deadline == T0 + timedelta(seconds=30)
    second = next_step(policy, replace(state, after_wave=1, already_alerted=("a",)), officers, T0)
    assert isinstance(second, StartWave) and second.wave == 2
    last = next_step(policy, replace(state, after_wave=2, already_alerted=("a", "b")), officers,
                     T0)
    assert isinstance(last, EscalateToControlRoom) and "after wave 2" in last.reason


def test_policy_edges() -> None:
    policy = parse_policy(DEFAULT_POLICY)
    nobody = next_step(policy, StepInput(Priority.P1, 0, WHITEHALL, "stj"), [], T0)
    assert isinstance(nobody, EscalateToControlRoom) and nobody.skipped == (1, 2)
    unlocated = next_step(policy, StepInput(Priority.P1, 0, None, None), [], T0)
    assert isinstance(unlocated, EscalateToControlRoom) and "no location" in unlocated.reason
    p3 = next_step(policy, StepInput(Priority.P3, 0, WHITEHALL, "stj"), [], T0)
    assert isinstance(p3, EscalateToControlRoom)
    assert isinstance(next_step(policy, StepInput(Priority.P4, 0, WHITEHALL, "stj"), [], T0),
                      RecordOnly)
    with pytest.raises(PolicyError, match="positive"):
        parse_policy({"priorities": {"P1": {"waves": [{"radius_m": 0, "officers": 1,
                                                        "ack_timeout_s": 1}]}}})


def alerting_incident() -> tuple[object, object]:
    policy = parse_policy(DEFAULT_POLICY)
    inc = open_incident(report(), T0)
    decision = next_step(policy, StepInput(Priority.P1, 0, WHITEHALL, "stj"),
                         [officer("a", 51.505, -0.126), officer("b", 51.506, -0.126)], T0)
    t = steps.apply_decision(inc, decision, current=None, now=T0)
    assert t is not None
    return t.incident, t.alerts[0]


def test_ack_first_wins_and_second_is_told_who() -> None:
    inc, alert = alerting_incident()
    t = steps.acknowledge(inc, alert, alert.id, "a", T0)  # type: ignore[arg-type, attr-defined]
    assert t.incident.status is IncidentStatus.ACKNOWLEDGED and t.incident.next_step_at is None
    taken = t.alerts[0]
    with pytest.raises(Conflict, match="already taken by a") as info:
        steps.acknowledge(t.incident, taken, taken.id, "b", T0)
    assert info.value.code == "already_acknowledged"
    with pytest.raises(steps.NotRecipient):
        steps.acknowledge(inc, alert, alert.id, "stranger", T0)  # type: ignore[arg-type, attr-defined]


def test_all_declined_makes_the_step_due_now() -> None:
    inc, alert = alerting_incident()
    t, everyone = steps.decline(inc, alert, alert.id, "a", "busy", T0)  # type: ignore[arg-type, attr-defined]
    assert not everyone and t.incident.next_step_at == inc.next_step_at  # type: ignore[attr-defined]
    t, everyone = steps.decline(t.incident, t.alerts[0], alert.id, "b", None, T0)  # type: ignore[attr-defined]
    assert everyone and t.alerts[0].status is AlertStatus.DECLINED_ALL
    assert t.incident.next_step_at == T0 and t.incident.step_seq == inc.step_seq + 1  # type: ignore[attr-defined]


def test_take_once_and_resolve_once() -> None:
    inc = open_incident(report(), T0)
    t = steps.apply_decision(inc, EscalateToControlRoom("x"), current=None, now=T0)
    assert t is not None
    taken = steps.take(t.incident, "op1", T0)
    with pytest.raises(Conflict, match="already taken by op1"):
        steps.take(taken.incident, "op2", T0)
    done = steps.resolve(taken.incident, None, "op1", "sorted", T0)
    with pytest.raises(Conflict):
        steps.resolve(done.incident, None, "op1", None, T0)


def test_event_feed_waits_at_gaps() -> None:
    from server.domain.records import Event
    from server.services.feed import contiguous

    events = [Event("k", T0, id=i) for i in (5, 6, 8)]
    assert [e.id for e in contiguous(4, events)] == [5, 6]
    assert contiguous(6, events[2:]) == []


async def test_event_feed_gives_up_on_an_id_that_never_comes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from typing import Any, cast

    from server.domain.records import Event
    from server.services import feed as feed_module

    class Events:  # a fake store: only the one method the feed reads
        def __init__(self) -> None:
            self.items = [Event("k", T0, id=1), Event("k", T0, id=3)]

        async def events_after(self, after_id: int, **_: Any) -> list[Event]:
            return [e for e in self.items if e.id > after_id]

    monkeypatch.setattr(feed_module, "GAP_WAIT_S", 0.2)
    feed = feed_module.EventFeed(cast(Any, Events()), poll_s=0.05)
    got: list[int] = []
    async with asyncio.timeout(3):
        async for batch in feed.follow(0):
            got += [e.id for e in batch]
            if 3 in got:
                break
    assert got == [1, 3]


def test_the_incident_remembers_who_its_latest_alert_went_to() -> None:
    """The control room's queue shows who was alerted, and still does once it escalates."""
    inc, alert = alerting_incident()
    assert inc.alerted == ("a", "b") == alert.recipients  # type: ignore[attr-defined]
    escalated = steps.apply_decision(inc, EscalateToControlRoom("nobody answered"),  # type: ignore[arg-type]
                                     current=alert, now=T0)  # type: ignore[arg-type]
    assert escalated is not None and escalated.incident.alerted == ("a", "b")
    sent = steps.assign(escalated.incident, None, "c", "op1", T0 + timedelta(minutes=2), T0)
    assert sent.incident.alerted == ("c",)
