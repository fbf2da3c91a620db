"""Runs every source as an owned asyncio task and restarts it with backoff when it fails.

One source failing never stops another or the API: each has its own task, and every
exception except cancellation is caught, recorded on the source's status, and followed by
a reconnect after an exponential, jittered delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from typing import Protocol

from ..ports import Clock
from .status import SourceStatus, State

log = logging.getLogger(__name__)


class SourceFailed(Exception):
    """An error that retrying soon cannot fix (a rejected secret, a bad setting)."""


class Backoff(Protocol):
    """How long to wait before the next connection."""

    def reset(self) -> None:
        """The connection went live: start the schedule again."""
        ...

    def delay(self, exc: BaseException | None) -> float:
        """Seconds to wait after a connection ended (None: cleanly)."""
        ...


class Exponential:
    """Doubling from `first` up to `longest` (the default for every source)."""

    def __init__(self, first: float, longest: float) -> None:
        self.first, self.longest = first, longest
        self._next = first

    def reset(self) -> None:
        self._next = self.first

    def delay(self, exc: BaseException | None) -> float:
        wait, self._next = self._next, min(self._next * 2, self.longest)
        return wait


class Source(Protocol):
    """One connection to one network."""

    status: SourceStatus

    @property
    def backoff(self) -> tuple[float, float] | Backoff:
        """(first delay, longest delay) in seconds for exponential backoff, or a schedule."""
        ...

    async def run(self) -> None:
        """Read until the connection ends (return) or fails (raise)."""
        ...

    async def flush(self) -> None:
        """Persist the cursor now (called at shutdown)."""
        ...


class Supervisor:
    """Owns one task per source."""

    def __init__(self, sources: Sequence[Source], clock: Clock) -> None:
        self.sources = list(sources)
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start every source."""
        self._tasks = [asyncio.create_task(self._keep(s), name=f"source-{s.status.id}")
                       for s in self.sources]

    async def close(self) -> None:
        """Stop every source and save its cursor."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for source in self.sources:
            try:
                await source.flush()
            except Exception:
                log.exception("source %s: could not save its cursor", source.status.id)
            source.status.state = State.STOPPED

    async def _keep(self, source: Source) -> None:
        status = source.status
        policy = (Exponential(*source.backoff) if isinstance(source.backoff, tuple)
                  else source.backoff)
        longest = float(getattr(policy, "longest", 300.0))   # the wait after a hard failure
        while True:
            status.state = State.CONNECTING
            failure: BaseException | None = None
            try:
                await source.run()
                policy.reset()   # a connection that ended cleanly: reconnect promptly
            except asyncio.CancelledError:
                raise
            except SourceFailed as exc:
                status.error(str(exc), self._clock.now())
                log.error("source %s failed: %s", status.id, exc)
                status.state = State.FAILED
            except Exception as exc:  # any fault: record it, back off, reconnect
                failure = exc
                status.error(f"{type(exc).__name__}: {exc}", self._clock.now())
                if status.state is State.LIVE:
                    policy.reset()   # it had been working: this is a fresh failure
            if status.state is State.FAILED:
                delay = longest
            else:
                delay = policy.delay(failure)
                status.state = State.BACKING_OFF
                if failure is not None:
                    log.warning("source %s: %s; reconnecting in %.1f s", status.id, failure,
                                delay)
            status.counts["reconnects"] += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    def snapshot(self) -> list[dict[str, object]]:
        """Every source's status."""
        now = self._clock.now()
        return [s.status.snapshot(now) for s in self.sources]
