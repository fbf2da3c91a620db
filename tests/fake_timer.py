"""A settable clock and the Timer port on it: nothing fires until a test advances the clock,
then what fell due runs in deadline order, each awaited. No real time, no races."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from server.ports import TimerCallback

# A callback that keeps re-arming itself at the current instant would spin forever.
MAX_FIRINGS = 10_000


class FakeClock:
    """A clock that moves only when told. It starts at the wall time, so tokens and location
    fixes a test makes with the real time are fresh on it."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@dataclass(order=True)
class _Armed:
    when: datetime
    order: int   # ties fire in the order they were armed
    key: str = field(compare=False)
    callback: TimerCallback = field(compare=False)
    every: timedelta | None = field(compare=False, default=None)


class FakeTimer:
    """The Timer port driven by a FakeClock (ignores calls outside start..shutdown, as
    the APScheduler adapter does)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.running = False
        self.fired: list[str] = []   # the keys, in firing order
        self._armed: dict[str, _Armed] = {}
        self._order = itertools.count()

    def start(self) -> None:
        self.running = True

    async def shutdown(self) -> None:
        self.running = False
        self._armed.clear()

    def at(self, key: str, when: datetime, callback: TimerCallback) -> None:
        if self.running:
            self._armed[key] = _Armed(when, next(self._order), key, callback)

    def every(self, key: str, seconds: float, callback: TimerCallback) -> None:
        if self.running:
            step = timedelta(seconds=seconds)
            self._armed[key] = _Armed(self.clock.at + step, next(self._order), key, callback,
                                      step)

    def cancel(self, key: str) -> None:
        self._armed.pop(key, None)

    def armed(self) -> dict[str, datetime]:
        """What is armed, and when it is due."""
        return {k: a.when for k, a in self._armed.items()}

    async def advance(self, seconds: float, *, stalled: bool = False) -> None:
        """Move the clock on by `seconds`. On time (the default), the clock stops at each
        deadline on the way and what is due there runs with the clock reading it. Stalled,
        the clock jumps to the end first, as when a blocked loop wakes up: everything that
        fell due runs late, in deadline order.

        Whatever is due at one instant is taken together before any of it runs, as
        APScheduler hands due jobs to its executor: a callback re-armed or cancelled by
        an earlier one in the batch still runs (the sweep and a step's timer both fire)."""
        end = self.clock.at + timedelta(seconds=seconds)
        if stalled:
            self.clock.at = end
        fired = 0
        while self._armed and (first := min(self._armed.values())).when <= end:
            self.clock.at = max(self.clock.at, first.when)
            batch = sorted(a for a in self._armed.values() if a.when <= self.clock.at)
            for armed in batch:
                self._take(armed)
            for armed in batch:
                fired += 1
                if fired > MAX_FIRINGS:
                    raise RuntimeError(f"{armed.key} keeps re-arming itself at {armed.when}")
                self.fired.append(armed.key)
                await armed.callback()
        self.clock.at = end

    def _take(self, armed: _Armed) -> None:
        del self._armed[armed.key]
        if armed.every is not None:
            # The next run on the interval's grid after now: missed runs coalesce into one.
            when = armed.when + armed.every
            while when <= self.clock.at:
                when += armed.every
            self._armed[armed.key] = _Armed(when, next(self._order), armed.key,
                                            armed.callback, armed.every)
