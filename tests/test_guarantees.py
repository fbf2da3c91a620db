"""Safety guarantees pinned through the API (issue 15). Each test here was run against the
code with its guarantee removed (noted per test) and failed there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from server import keys
from server.adapters.sqlite.store import SqliteStore
from server.domain.records import Event
from server.domain.transitions import Transition
from server.ports import Store
from server.services.feed import EventFeed
from server.settings import Settings
from tests.alerting_world import (
    WHITEHALL,
    neighbourhood,
    officer_on_duty,
    policy_file,
    post,
)
from tests.conftest import Api, ApiFactory
from tests.fake_timer import FakeClock, FakeTimer

ONE_WAVE = [{"radius_m": 1000, "officers": 2, "ack_timeout_s": 30}]


async def alerted(api: Api, ext: str, officers: tuple[str, ...] = ("near",)) -> tuple[str, str]:
    """An incident alerting the given officers: (incident id, alert id)."""
    await neighbourhood(api)
    for i, oid in enumerate(officers):
        await officer_on_duty(api, oid, 51.5050 + i * 0.0005, -0.1265)
    r = await api.post("/v1/reports", post("he has a knife, help", ext, lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    assert r.body["band"] == "alert", r.body
    items = (await api.get("/v1/me/alerts", role="officer", sub=officers[0])).body["items"]
    return r.body["incident_id"], items[0]["id"]


async def state_of(api: Api, iid: str) -> tuple[Any, ...]:
    d = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    inc = {k: v for k, v in d["incident"].items() if k != "updated_at"}
    return (inc, [e["kind"] for e in d["timeline"]],
            [(a["id"], a["status"], a["acknowledged_by"]) for a in d["alerts"]])


async def refused_and_unchanged(api: Api, iid: str, alert_id: str, officer: str) -> None:
    before = await state_of(api, iid)
    for action in ("ack", "decline"):
        r = await api.post(f"/v1/alerts/{alert_id}/{action}", {} if action == "decline"
                           else None, role="officer", sub=officer)
        assert r.status == 409 and r.body["code"] in ("alert_closed", "already_acknowledged"), (
            action, r.body)
    assert await state_of(api, iid) == before


# Broken variant for the next four: steps._pending_for without its "still pending" check.
async def test_a_late_ack_of_an_expired_alert_is_refused(make_api: ApiFactory,
                                                         settings: Settings,
                                                         tmp_path: Path) -> None:
    timer = FakeTimer(FakeClock())
    api = await make_api(settings=replace(settings, policy_file=policy_file(tmp_path, ONE_WAVE)),
                         clock=timer.clock, timer=timer)
    iid, aid = await alerted(api, "late1")
    await timer.advance(31)
    assert "alert_expired" in (await state_of(api, iid))[1]
    await refused_and_unchanged(api, iid, aid, "near")


async def test_an_ack_of_a_cancelled_alert_is_refused(make_api: ApiFactory) -> None:
    api = await make_api()
    iid, aid = await alerted(api, "late2", ("near", "other"))
    r = await api.post(f"/v1/incidents/{iid}/assign", {"officer_id": "other"}, role="admin")
    assert r.status == 200   # the wave's alert is cancelled, a new one goes to "other"
    await refused_and_unchanged(api, iid, aid, "near")


async def test_an_ack_after_the_incident_is_resolved_is_refused(make_api: ApiFactory) -> None:
    api = await make_api()
    iid, aid = await alerted(api, "late3")
    r = await api.post(f"/v1/incidents/{iid}/resolve", {"outcome": "duplicate"}, role="admin")
    assert r.status == 200
    await refused_and_unchanged(api, iid, aid, "near")


async def test_acting_on_an_alert_everyone_declined_is_refused(make_api: ApiFactory) -> None:
    api = await make_api()
    iid, aid = await alerted(api, "late4")
    r = await api.post(f"/v1/alerts/{aid}/decline", {"reason": "off sick"}, role="officer",
                       sub="near")
    assert r.status == 200 and r.body["status"] == "declined_all"
    await refused_and_unchanged(api, iid, aid, "near")


# Broken variant: reports de-duplicated on external_id alone.
async def test_a_post_is_stored_once_per_source_and_external_id(make_api: ApiFactory) -> None:
    api = await make_api()
    first = await api.post("/v1/reports", {**post("quiet night", "same-id"), "source": "bsky"},
                           role="ingest")
    other = await api.post("/v1/reports", {**post("quiet night", "same-id"),
                                           "source": "mastodon"}, role="ingest")
    again = await api.post("/v1/reports", {**post("quiet night", "same-id"),
                                           "source": " BSKY "}, role="ingest")
    assert (first.status, other.status, again.status) == (201, 201, 200)
    assert first.body["id"] != other.body["id"] and again.body["id"] == first.body["id"]
    assert again.body["duplicate"] is True


class Contended(SqliteStore):
    """A store on which every versioned commit loses (as if others always got there first)."""

    async def commit_transition(self, t: Transition) -> bool:
        return False


# Broken variant: contention raised as a bare DomainError (400, code "error").
async def test_contention_is_503_busy_with_retry_after(make_api: ApiFactory,
                                                       settings: Settings) -> None:
    api = await make_api(store=Contended(settings.sqlite_path))
    await neighbourhood(api)
    r = await api.post("/v1/reports", post("he has a knife, help", "busy1", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    assert r.status == 201   # stored; starting the policy is left to the sweep
    r = await api.post(f"/v1/incidents/{r.body['incident_id']}/resolve", {}, role="admin")
    assert r.status == 503 and r.body["code"] == "busy" and r.headers["Retry-After"] == "1"


class EventLog:
    """A store holding only events, committed in whatever order the test says."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def events_after(self, after_id: int, *, limit: int = 500,
                           incident_id: str | None = None) -> list[Event]:
        return sorted((e for e in self.events if e.id > after_id), key=lambda e: e.id)[:limit]


def event(n: int) -> Event:
    return Event("report_joined", datetime.now(UTC), "inc", id=n)


# Broken variant: the feed yielding whatever comes after its last id, gaps and all.
async def test_the_feed_waits_at_a_gap_until_the_missing_event_is_committed() -> None:
    log = EventLog()
    feed = EventFeed(cast(Store, log), poll_s=0.01)
    log.events = [event(1), event(2), event(4)]   # 3 is still being committed elsewhere
    follow = feed.follow(0)
    assert [e.id for e in await anext(follow)] == [1, 2]
    for _ in range(3):   # heartbeats while 3 is missing: 4 is held back
        assert await anext(follow) == []
    log.events.append(event(3))
    feed.notify()
    batch = await anext(follow)
    while not batch:
        batch = await anext(follow)
    assert [e.id for e in batch] == [3, 4]
    feed.close()


TWO_WAVES = [{"radius_m": 1000, "officers": 1, "ack_timeout_s": 30},
             {"radius_m": 5000, "officers": 1, "ack_timeout_s": 30}]


# Broken variants: run_step or run_steps (the batch) without its due-time check (the early
# call acts) or without its step_seq check (the stale call acts a second time). No timer
# fires here: the fake one fires only when advanced, so only the test's own calls act.
@pytest.mark.parametrize("batch", [False, True], ids=["run_step", "run_steps"])
async def test_early_and_stale_step_calls_do_nothing(make_api: ApiFactory, settings: Settings,
                                                     tmp_path: Path, batch: bool) -> None:
    timer = FakeTimer(FakeClock())
    clock = timer.clock
    api = await make_api(settings=replace(settings, policy_file=policy_file(
        tmp_path, TWO_WAVES)), clock=clock, timer=timer)
    escalation = api.app[keys.ESCALATION]

    async def run_step(incident_id: str, seq: int) -> bool:
        if not batch:
            return await escalation.run_step(incident_id, seq)
        done = await escalation.run_steps([(incident_id, seq)])
        assert done.retry == []
        return incident_id in done.performed

    iid, _ = await alerted(api, "step1", ("near", "far"))
    seq = (await api.app[keys.STORE].get_incident(iid)).step_seq  # type: ignore[union-attr]
    before = await state_of(api, iid)
    assert await run_step(iid, seq) is False          # 30 s early
    assert await state_of(api, iid) == before
    clock.at += timedelta(seconds=31)
    assert await run_step(iid, seq) is True           # due: wave 2
    clock.at += timedelta(seconds=31)                 # wave 2 is due now too
    assert await run_step(iid, seq) is False          # but this call is stale
    kinds = (await state_of(api, iid))[1]
    assert kinds.count("alert_sent") == 2 and "escalated" not in kinds


# Broken variants: run_steps without both its guards (the step timer, firing after the
# sweep performed its step, performs the next one early); a commit that does not arm the
# step's timer, or a scheduler that never registers the sweep (then only one fires).
async def test_a_step_both_the_sweep_and_its_timer_fire_for_runs_once(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    # Two-second waves: 100 rounds stay within the officers' ten-minute fix age.
    waves = [{**w, "ack_timeout_s": 2} for w in TWO_WAVES]
    timer = FakeTimer(FakeClock())
    api = await make_api(settings=replace(settings, policy_file=policy_file(tmp_path, waves),
                                          sweep_s=1), clock=timer.clock, timer=timer)
    escalation, store = api.app[keys.ESCALATION], api.app[keys.STORE]
    calls: list[tuple[str, int, bool]] = []

    async def recorded(due: Sequence[tuple[str, int]]) -> None:
        done = await escalation.run_steps(due)
        assert done.retry == []
        calls.extend((incident_id, seq, incident_id in done.performed) for incident_id, seq in due)

    api.app[keys.SCHEDULER].bind(recorded)
    await timer.advance(0)   # the start-up sweep, run on the timer once the app is up
    assert timer.fired == ["sweep:start"]
    await neighbourhood(api)
    await officer_on_duty(api, "near", 51.5050, -0.1265)
    await officer_on_duty(api, "far", 51.5300, -0.1265)
    for i in range(100):
        r = await api.post("/v1/reports", post("he has a knife, help", f"twice{i}",
                                               lat=WHITEHALL[0], lon=WHITEHALL[1]),
                           role="ingest")
        iid = r.body["incident_id"]
        seq = (await store.get_incident(iid)).step_seq  # type: ignore[union-attr]
        calls.clear()
        timer.fired.clear()
        # Stalled past the deadline: the sweep (due first) performs the step, then the
        # step's own timer, taken in the same batch, fires for it too.
        await timer.advance(3, stalled=True)
        assert timer.fired == ["sweep", f"step:{iid}"], (i, timer.fired)
        assert calls == [(iid, seq, True), (iid, seq, False)], (i, calls)
        kinds = [e.kind for e in await store.events_after(0, incident_id=iid)]
        assert (kinds.count("alert_sent"), kinds.count("alert_expired")) == (2, 1), (i, kinds)
        assert [a.status.value for a in await store.list_alerts(iid)] == ["expired", "pending"]
        await escalation.resolve(iid, "op1", None)   # a fresh incident next time round
