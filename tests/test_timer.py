"""The Timer port's contract, on the APScheduler adapter (real time, short waits, only
bounds that hold however late the loop is) and on the fake the alert-loop tests drive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from server.adapters.timer_apscheduler import ApschedulerTimer
from server.ports import Clock, Timer
from tests.fake_timer import FakeClock, FakeTimer


class AheadClock:
    """The wall clock an hour on: the adapter must fire by the Clock, not the wall."""

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(hours=1)


@dataclass
class Rig:
    timer: Timer
    clock: Clock
    wait: Callable[[float], Awaitable[None]]   # let this much Clock time pass


@pytest.fixture(params=["apscheduler", "fake"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "fake":
        fake_clock = FakeClock()
        fake = FakeTimer(fake_clock)
        yield Rig(fake, fake_clock, fake.advance)
        return
    clock = AheadClock()
    timer = ApschedulerTimer(clock)
    yield Rig(timer, clock, asyncio.sleep)
    await timer.shutdown()


class Calls:
    """Records each run of a named callback with the Clock's time when it ran."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.runs: list[tuple[str, datetime]] = []

    def callback(self, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            self.runs.append((name, self.clock.now()))
        return run

    def names(self) -> list[str]:
        return [n for n, _ in self.runs]


async def test_at_runs_once_in_deadline_order_never_early(rig: Rig) -> None:
    calls = Calls(rig.clock)
    rig.timer.start()
    now = rig.clock.now()
    later, sooner = now + timedelta(seconds=0.2), now + timedelta(seconds=0.1)
    rig.timer.at("b", later, calls.callback("b"))
    rig.timer.at("a", sooner, calls.callback("a"))
    await rig.wait(0.05)
    assert calls.runs == []
    await rig.wait(0.6)
    assert calls.names() == ["a", "b"]
    assert calls.runs[0][1] >= sooner and calls.runs[1][1] >= later


async def test_a_key_rearmed_or_cancelled_fires_only_as_last_told(rig: Rig) -> None:
    calls = Calls(rig.clock)
    rig.timer.start()
    soon = rig.clock.now() + timedelta(seconds=0.1)
    rig.timer.at("step", soon, calls.callback("first"))
    rig.timer.at("step", soon, calls.callback("second"))
    rig.timer.at("gone", soon, calls.callback("gone"))
    rig.timer.cancel("gone")
    rig.timer.cancel("never armed")
    await rig.wait(0.5)
    assert calls.names() == ["second"]


async def test_every_repeats_and_nothing_fires_outside_start_and_shutdown(rig: Rig) -> None:
    calls = Calls(rig.clock)
    rig.timer.at("early", rig.clock.now(), calls.callback("early"))   # not started: ignored
    rig.timer.start()
    rig.timer.every("sweep", 0.05, calls.callback("sweep"))
    await rig.wait(0.4)
    assert calls.names().count("sweep") >= 2 and "early" not in calls.names()
    await rig.timer.shutdown()
    seen = len(calls.runs)
    rig.timer.at("late", rig.clock.now(), calls.callback("late"))
    await rig.wait(0.2)
    assert len(calls.runs) == seen, calls.names()[seen:]


async def test_the_fake_runs_what_fell_due_together_even_if_an_earlier_one_rearms_it() -> None:
    clock = FakeClock()
    timer = FakeTimer(clock)
    timer.start()
    calls = Calls(clock)

    async def sweep() -> None:   # like the sweep performing a step and re-arming its timer
        if "sweep" not in calls.names():
            timer.at("step", clock.now() + timedelta(seconds=30), calls.callback("next step"))
        calls.runs.append(("sweep", clock.now()))

    timer.every("sweep", 1, sweep)
    timer.at("step", clock.now() + timedelta(seconds=1.5), calls.callback("step"))
    start = clock.now()
    await timer.advance(2.5, stalled=True)
    assert calls.names() == ["sweep", "step"]   # the step's timer still fired
    assert all(at == start + timedelta(seconds=2.5) for _, at in calls.runs)
    await timer.advance(30)   # on time: each run sees its own deadline
    assert calls.names().count("next step") == 1 and calls.names().count("sweep") == 31
    assert dict(calls.runs)["next step"] == start + timedelta(seconds=32.5)
    assert timer.armed()["sweep"] == clock.now() + timedelta(seconds=0.5)


async def test_shutdown_lets_a_callback_in_flight_finish_before_it_returns(
        caplog: pytest.LogCaptureFixture) -> None:
    """A sweep half done at shutdown must not reach a store that is being closed: shutdown
    returns once it is over (and APScheduler's cancellation is not logged as a failure)."""
    timer = ApschedulerTimer(AheadClock())
    timer.start()
    began, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow_sweep() -> None:
        began.set()
        await release.wait()
        finished.set()

    timer.at("sweep", AheadClock().now(), slow_sweep)
    await asyncio.wait_for(began.wait(), 5)
    closing = asyncio.create_task(timer.shutdown())
    await asyncio.sleep(0)   # one turn: shutdown has begun waiting, the sweep is not done
    assert not closing.done()
    release.set()
    await asyncio.wait_for(closing, 5)
    assert finished.is_set()
    assert "raised an exception" not in caplog.text


async def test_shutdown_cancels_a_callback_that_outlives_the_grace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("server.adapters.timer_apscheduler.GRACE_S", 0.05)
    timer = ApschedulerTimer(AheadClock())
    timer.start()
    began, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck() -> None:
        began.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    timer.at("stuck", AheadClock().now(), stuck)
    await asyncio.wait_for(began.wait(), 5)
    await asyncio.wait_for(timer.shutdown(), 5)
    assert cancelled.is_set()
