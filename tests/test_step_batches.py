"""The step scheduler runs steps that fall due together as batches, and a restart's sweep
takes every overdue step, page by page, without arming a timer for each."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from server import keys
from server.adapters.sqlite.store import SqliteStore
from server.domain.records import Event
from server.domain.transitions import Transition
from server.services.scheduler import StepScheduler
from server.settings import Settings
from tests.alerting_world import neighbourhood, officer_on_duty, policy_file, post
from tests.conftest import ApiFactory
from tests.fake_timer import FakeClock, FakeTimer


class Steps:
    """The StepQueue port over a dict: incident id -> (seq, deadline); a run removes it."""

    def __init__(self, steps: dict[str, tuple[int, datetime]]) -> None:
        self.steps = steps

    async def due_steps(self, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
        due = sorted((when, iid, seq) for iid, (seq, when) in self.steps.items() if when <= now)
        return [(iid, seq) for _, iid, seq in due[:limit]]

    async def pending_steps(self) -> list[tuple[str, int, datetime]]:
        return [(iid, seq, when) for iid, (seq, when) in self.steps.items()]


class Runner:
    """Runs a batch: records it, and (like Escalation.run_due) the steps are then done."""

    def __init__(self, steps: Steps) -> None:
        self.steps, self.batches = steps, []   # type: ignore[var-annotated]
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def __call__(self, due: Sequence[tuple[str, int]]) -> None:
        self.batches.append(list(due))
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        for iid, seq in due:
            if self.steps.steps.get(iid, (None,))[0] == seq:
                del self.steps.steps[iid]


async def test_a_restart_sweeps_every_overdue_step_in_pages_and_arms_only_the_rest() -> None:
    clock = FakeClock()
    overdue = {f"inc{i}": (1, clock.at - timedelta(seconds=10 - i)) for i in range(5)}
    ahead = {"later": (3, clock.at + timedelta(seconds=30))}
    store = Steps({**overdue, **ahead})
    timer = FakeTimer(clock)
    runner = Runner(store)
    scheduler = StepScheduler(store, clock, timer, sweep_s=1.0, batch=2)
    scheduler.bind(runner)
    await scheduler.start()
    assert list(timer.armed()) == ["sweep", "sweep:start"]   # ready without reading steps
    await timer.advance(0)
    # One sweep, three pages, oldest first; only the step still ahead gets a timer.
    assert runner.batches == [[("inc0", 1), ("inc1", 1)], [("inc2", 1), ("inc3", 1)],
                              [("inc4", 1)]]
    assert list(timer.armed()) == ["sweep", "step:later"]
    await timer.advance(31)
    assert runner.batches[3:] == [[("later", 3)]] and store.steps == {}


async def test_steps_due_while_a_batch_runs_ride_together_in_the_next() -> None:
    clock = FakeClock()
    store = Steps({})
    timer = FakeTimer(clock)
    runner = Runner(store)
    runner.gate = asyncio.Event()
    scheduler = StepScheduler(store, clock, timer, sweep_s=60.0)
    scheduler.bind(runner)
    await scheduler.start()
    await timer.advance(0)
    first = asyncio.ensure_future(scheduler._run("a", 1))
    await asyncio.wait_for(runner.started.wait(), 5)
    assert runner.batches == [[("a", 1)]]
    # Three more fall due while the first batch runs: their callbacks return at once...
    for iid in ("b", "c", "d"):
        await asyncio.wait_for(scheduler._run(iid, 2), 5)
    await asyncio.wait_for(scheduler._run("b", 2), 5)   # (a sweep and a timer: once)
    assert runner.batches == [[("a", 1)]]
    runner.gate.set()
    await asyncio.wait_for(first, 5)
    # ...and the first caller runs them as one batch.
    assert runner.batches == [[("a", 1)], [("b", 2), ("c", 2), ("d", 2)]]



TWO_WAVES = [{"radius_m": 5000, "officers": 1, "ack_timeout_s": 30},
             {"radius_m": 10000, "officers": 1, "ack_timeout_s": 30}]
SPOTS = [(51.4975, -0.1420), (51.4975, -0.1180), (51.5125, -0.1420)]


class StepsRaced(SqliteStore):
    """Once armed, another writer changes the first incident of a batch of steps just
    before the batch commits: that step's transition was decided from a stale version."""

    armed = False

    async def commit_transitions(self, ts: Sequence[Transition]) -> list[bool]:
        if self.armed and len(ts) > 1:
            self.armed = False
            first = await self.get_incident(ts[0].incident.id)
            assert first is not None and await self.commit_transition(Transition(
                first, events=(Event("note", first.updated_at, first.id),)))
        return await super().commit_transitions(ts)


# Broken variants: run_due not running alone the steps the batch hands back (the raced
# incident's second wave never goes out), or run_steps committing without version guards.
async def test_a_step_that_loses_its_race_in_a_batch_is_performed_alone_once(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    timer = FakeTimer(FakeClock())
    store = StepsRaced(settings.sqlite_path)
    api = await make_api(settings=replace(settings, policy_file=policy_file(
        tmp_path, TWO_WAVES)), clock=timer.clock, timer=timer, store=store)
    await timer.advance(0)   # the start-up sweep
    await neighbourhood(api)
    for oid in ("ann", "bob"):
        await officer_on_duty(api, oid, 51.5050, -0.1300)
    iids = []
    for i, (lat, lon) in enumerate(SPOTS):
        r = await api.post("/v1/reports", post("he has a knife, please hurry", f"k{i}",
                                               lat=lat, lon=lon), role="ingest")
        iids.append(r.body["incident_id"])
    assert len(set(iids)) == 3
    due = [(i.id, i.step_seq) for i in await store.get_incidents(iids)]
    store.armed = True
    # All three fall due together and run as one batch. No timer fires (the fake one fires
    # only when advanced), so nothing but run_due's own fallback can rescue the loser.
    timer.clock.at += timedelta(seconds=31)
    await api.app[keys.ESCALATION].run_due(due)
    assert not store.armed                  # the batch ran, and raced
    for iid in iids:
        kinds = [e.kind for e in await store.events_after(0, incident_id=iid)]
        assert (kinds.count("alert_sent"), kinds.count("alert_expired")) == (2, 1), kinds
    assert [e.kind for e in await store.events_after(0, incident_id=iids[0])].count(
        "note") == 1
