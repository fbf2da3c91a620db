"""The step scheduler runs steps that fall due together as batches, and a restart's sweep
takes every overdue step, page by page, without arming a timer for each."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from server.services.scheduler import StepScheduler
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

