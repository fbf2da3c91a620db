"""Time: the Clock that tells it and the Timer that acts on it, both faked in tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the time; tests pass a fake one."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


TimerCallback = Callable[[], Awaitable[object]]


class Timer(Protocol):
    """Runs callbacks when the Clock reaches a time: APScheduler in production, a fake that
    tests advance. Calls outside start..shutdown do nothing (deadlines live in the store,
    and whoever starts re-arms them from there)."""

    def start(self) -> None:
        """Begin firing (inside the running event loop)."""
        ...

    async def shutdown(self) -> None:
        """Stop firing and forget every callback; return once none is in flight."""
        ...

    def at(self, key: str, when: datetime, callback: TimerCallback) -> None:
        """Await `callback` once the Clock reads `when` (late, never early, never dropped),
        replacing whatever was armed under `key` and has not started yet."""
        ...

    def every(self, key: str, seconds: float, callback: TimerCallback) -> None:
        """Await `callback` every `seconds`, one run at a time; missed runs coalesce."""
        ...

    def cancel(self, key: str) -> None:
        """Forget what is armed under `key`, if anything."""
        ...
