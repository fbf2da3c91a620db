"""Escalation steps on the Timer port: one timer per incident's next step, and a sweep."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from ..ports import Clock, StepQueue, Timer

log = logging.getLogger(__name__)

StepRunner = Callable[[str, int], Awaitable[object]]
Repair = Callable[[], Awaitable[object]]
SWEEP = "sweep"
FIRST_SWEEP = "sweep:start"
SWEEP_CONCURRENCY = 32


def step_key(incident_id: str) -> str:
    """The timer key of an incident's next step: one per incident, so re-arming replaces."""
    return f"step:{incident_id}"


class StepScheduler:
    """Fires each step at its deadline; the sweep claims any step a timer missed (another
    instance's, one lost in a restart). Both may fire for one step: run_step is guarded."""

    def __init__(self, store: StepQueue, clock: Clock, timer: Timer, sweep_s: float) -> None:
        self._store, self._clock, self._timer, self._sweep_s = store, clock, timer, sweep_s
        self._runner: StepRunner | None = None
        self._repair: Repair | None = None
        self.last_due = 0

    def bind(self, runner: StepRunner, repair: Repair | None = None) -> None:
        """Set what runs a step, and what the sweep calls to start forgotten incidents."""
        self._runner, self._repair = runner, repair

    async def start(self) -> None:
        """Start timers (inside the running loop), re-arm persisted steps, and sweep at once
        in the background."""
        self._timer.start()
        self._timer.every(SWEEP, self._sweep_s, self.sweep)
        for incident_id, seq, when in await self._store.pending_steps():
            self.arm(incident_id, seq, when)
        # The first sweep (whatever fell due while the process was down) runs on the timer,
        # at once but after start-up: the server is ready while it catches up.
        self._timer.at(FIRST_SWEEP, self._clock.now(), self.sweep)

    async def shutdown(self) -> None:
        """Stop all timers and wait for a step or sweep in flight; persisted deadlines
        survive for the next start."""
        await self._timer.shutdown()

    def arm(self, incident_id: str, seq: int, when: datetime) -> None:
        """Run step `seq` of the incident at `when` (replacing an older timer for it)."""
        self._timer.at(step_key(incident_id), when, functools.partial(self._run, incident_id,
                                                                      seq))

    def disarm(self, incident_id: str) -> None:
        """The incident has no next step (acknowledged, escalated, resolved)."""
        self._timer.cancel(step_key(incident_id))

    async def _run(self, incident_id: str, seq: int) -> None:
        if self._runner is None:
            return
        try:
            await self._runner(incident_id, seq)
        except Exception:
            log.exception("escalation step %s/%d failed; the sweep will retry", incident_id, seq)

    async def sweep(self) -> None:
        """Run every step whose deadline has passed (each claim is guarded: no repeats)."""
        try:
            due = await self._store.due_steps(self._clock.now())
        except Exception:
            log.exception("sweep could not read due steps")
            return
        self.last_due = len(due)   # overdue at this sweep (a gauge reads it)
        # Side by side, a few at a time: each step is its own guarded transition, and
        # concurrent commits share one fsync (a restart after an outage finds hundreds due).
        gate = asyncio.Semaphore(SWEEP_CONCURRENCY)

        async def one(incident_id: str, seq: int) -> None:
            async with gate:
                await self._run(incident_id, seq)

        await asyncio.gather(*(one(i, s) for i, s in due))
        if self._repair is not None:
            try:
                await self._repair()
            except Exception:
                log.exception("sweep could not start waiting incidents")
