"""Timers for escalation steps: an APScheduler date job per step, and a sweep as safety net."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ..ports import Clock, Store

log = logging.getLogger(__name__)

StepRunner = Callable[[str, int], Awaitable[object]]
Repair = Callable[[], Awaitable[object]]


class StepScheduler:
    """Fires each step at its deadline; the sweep claims any step a timer missed."""

    def __init__(self, store: Store, clock: Clock, sweep_s: float) -> None:
        self._store, self._clock, self._sweep_s = store, clock, sweep_s
        self._runner: StepRunner | None = None
        self._repair: Repair | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self.last_due = 0

    def bind(self, runner: StepRunner, repair: Repair | None = None) -> None:
        """Set what runs a step, and what the sweep calls to start forgotten incidents."""
        self._runner, self._repair = runner, repair

    async def start(self) -> None:
        """Start timers (inside the running loop), re-arm persisted steps, sweep at once."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start()
        self._scheduler.add_job(self.sweep, "interval", seconds=self._sweep_s, id="sweep",
                                coalesce=True, max_instances=1, misfire_grace_time=None,
                                replace_existing=True)
        for incident_id, seq, when in await self._store.pending_steps():
            self.arm(incident_id, seq, when)
        await self.sweep()

    def shutdown(self) -> None:
        """Stop all timers; persisted deadlines survive for the next start."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    def arm(self, incident_id: str, seq: int, when: datetime) -> None:
        """Run step `seq` of the incident at `when` (replacing an older timer for it)."""
        if self._scheduler is None:
            return  # not started (CLI import, tests without timers): the sweep covers it
        # misfire_grace_time=None: a stalled loop runs the job late instead of dropping it.
        self._scheduler.add_job(self._run, "date", run_date=when, args=(incident_id, seq),
                                id=f"step:{incident_id}", replace_existing=True,
                                coalesce=True, max_instances=1, misfire_grace_time=None)

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
        for incident_id, seq in due:
            await self._run(incident_id, seq)
        if self._repair is not None:
            try:
                await self._repair()
            except Exception:
                log.exception("sweep could not start waiting incidents")
