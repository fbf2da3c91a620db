"""The Timer port on APScheduler: a date job per deadline and interval jobs, in the loop."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ..ports import Clock, TimerCallback

# At shutdown a callback in flight (a step half done, a sweep) may finish for this long
# while the store is still open; then it is cancelled (its deadline stays in the store).
GRACE_S = 5.0


class ApschedulerTimer:
    """Production timers. APScheduler reads the wall clock, so a deadline on the Clock's time
    is moved by the Clock's offset from the wall (none for the system clock)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        """Begin firing (inside the running event loop)."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start()

    async def shutdown(self) -> None:
        """Stop firing, and let a callback in flight finish (GRACE_S at most, then it is
        cancelled): nothing it does may reach a store that is closing."""
        if self._scheduler is not None:
            # Set to None first: a job APScheduler let through this turn will not start.
            scheduler, self._scheduler = self._scheduler, None
            # wait=False, because APScheduler would cancel our callbacks itself: they are
            # not its executor's futures but tasks of our own (see _call).
            scheduler.shutdown(wait=False)
        running = set(self._running)
        if running:
            _, late = await asyncio.wait(running, timeout=GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def at(self, key: str, when: datetime, callback: TimerCallback) -> None:
        """Await `callback` once the Clock reads `when`, replacing the job under `key`."""
        if self._scheduler is None:
            return
        # misfire_grace_time=None: a stalled loop runs the job late instead of dropping it.
        self._scheduler.add_job(self._call, "date", run_date=self._wall(when), args=(callback,),
                                id=key, replace_existing=True, coalesce=True, max_instances=1,
                                misfire_grace_time=None)

    def every(self, key: str, seconds: float, callback: TimerCallback) -> None:
        """Await `callback` every `seconds`, one run at a time; missed runs coalesce."""
        if self._scheduler is None:
            return
        self._scheduler.add_job(self._call, "interval", seconds=seconds, args=(callback,), id=key,
                                replace_existing=True, coalesce=True, max_instances=1,
                                misfire_grace_time=None)

    def cancel(self, key: str) -> None:
        """Forget the job under `key` (a date job that already started is gone already)."""
        if self._scheduler is not None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(key)

    async def _call(self, callback: TimerCallback) -> None:
        # APScheduler awaits coroutine functions in the loop but runs any other callable in
        # a worker thread (where an awaitable would never be awaited): so always this one.
        # Its shutdown takes effect on the loop's next turn; a job let through meanwhile
        # must not start on a store that is closing. The callback runs as a task of ours,
        # shielded from the executor's cancellation, so that shutdown can let it finish.
        if self._scheduler is None:
            return
        task: asyncio.Task[object] = asyncio.ensure_future(callback())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if self._scheduler is not None:
                raise
            # APScheduler's shutdown cancels this wrapper (and would log it as a failed
            # job); the callback goes on, and our shutdown awaits it.

    def _wall(self, when: datetime) -> datetime:
        clock_now = self._clock.now()
        # The wall is read after the Clock, so the offset errs late: a job that fired a
        # microsecond early would find its step "not yet due" and leave it to the sweep.
        return when + (datetime.now(UTC) - clock_now)

