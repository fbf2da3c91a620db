"""Escalation steps on the Timer port: one timer per incident's next step, and a sweep."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from ..ports import Clock, StepQueue, Timer

log = logging.getLogger(__name__)

StepsRunner = Callable[[Sequence[tuple[str, int]]], Awaitable[object]]
Repair = Callable[[], Awaitable[object]]
SWEEP = "sweep"
FIRST_SWEEP = "sweep:start"
BATCH = 500   # steps performed together at most (one read, one commit)
SWEEP_PAGES = 20   # pages of due steps one sweep runs at most (10,000 steps)


def step_key(incident_id: str) -> str:
    """The timer key of an incident's next step: one per incident, so re-arming replaces."""
    return f"step:{incident_id}"


class StepScheduler:
    """Fires each step at its deadline; the sweep claims any step a timer missed (another
    instance's, one lost in a restart). Both may fire for one step: each run is guarded.
    Steps that fall due while others run are collected and run together in one batch:
    a batch's starts put hundreds of deadlines within milliseconds of each other."""

    def __init__(self, store: StepQueue, clock: Clock, timer: Timer, sweep_s: float,
                 batch: int = BATCH) -> None:
        self._store, self._clock, self._timer, self._sweep_s = store, clock, timer, sweep_s
        self._batch = batch
        self._runner: StepsRunner | None = None
        self._repair: Repair | None = None
        self._due: dict[tuple[str, int], None] = {}   # collected, in order, each once
        self._running = False
        self.last_due = 0
        # Set once the start-up sweep has run (what waits for it starts after the catch-up).
        self.caught_up = asyncio.Event()

    def bind(self, runner: StepsRunner, repair: Repair | None = None) -> None:
        """Set what runs due steps (a batch of (incident id, seq)), and what the sweep
        calls to start forgotten incidents."""
        self._runner, self._repair = runner, repair

    async def start(self) -> None:
        """Start timers (inside the running loop); re-arming persisted steps and the first
        sweep (whatever fell due while the process was down) run on the timer at once, but
        after start-up: the server is ready while it catches up (1,000 timers cost 0.2 s)."""
        self._timer.start()
        self._timer.every(SWEEP, self._sweep_s, self.sweep)
        self._timer.at(FIRST_SWEEP, self._clock.now(), self._resume)

    async def _resume(self) -> None:
        """Sweep up the steps already due (in batches: a timer each would only queue
        them), then re-arm the steps still ahead (one due meanwhile fires at once)."""
        swept_until = self._clock.now()
        try:
            await self.sweep()
            for incident_id, seq, when in await self._store.pending_steps():
                if when > swept_until:   # else the sweep had it
                    self.arm(incident_id, seq, when)
        finally:
            self.caught_up.set()

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
        await self._perform([(incident_id, seq)])

    async def _perform(self, due: Sequence[tuple[str, int]]) -> bool:
        """Collect the steps; the first caller runs batches until none is left, the others
        return at once (their steps ride in its next batch). A step collected but not run
        when the process stops keeps its persisted deadline: the next sweep finds it.
        True if this call ran them."""
        self._due.update(dict.fromkeys(due))
        if self._running or self._runner is None:
            return False
        self._running = True
        try:
            while self._due:
                batch = list(itertools.islice(self._due, self._batch))
                for key in batch:
                    del self._due[key]
                try:
                    await self._runner(batch)
                except Exception:
                    log.exception("%d escalation steps failed; the sweep will retry them",
                                  len(batch))
        finally:
            self._running = False
        return True

    async def sweep(self) -> None:
        """Run every step whose deadline has passed (each claim is guarded: no repeats),
        a page at a time while pages come back full (a restart after an outage finds
        thousands due), then start incidents that never started."""
        for _ in range(SWEEP_PAGES):
            try:
                due = await self._store.due_steps(self._clock.now(), limit=self._batch)
            except Exception:
                log.exception("sweep could not read due steps")
                return
            self.last_due = len(due)   # overdue at this sweep (a gauge reads it)
            led = await self._perform(due)
            if len(due) < self._batch or not led:   # not led: the runner in flight takes them
                break
        if self._repair is not None:
            try:
                await self._repair()
            except Exception:
                log.exception("sweep could not start waiting incidents")
