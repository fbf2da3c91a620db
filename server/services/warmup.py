"""The triage model's embedding table (WordLlama, ~0.4 s to load) loads once, in a worker
thread, off the path to readiness: after the start-up catch-up of overdue escalation steps
(which it would otherwise slow by about as much), or at once when a post needs it first.
A post waits for it without holding up the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Warmup:
    """Runs `load` in a worker thread once: when `start` is called or a caller needs it."""

    def __init__(self, load: Callable[[], None]) -> None:
        self._load = load
        self._task: asyncio.Future[None] | None = None
        self.finished = asyncio.Event()   # set once a load has ended, loaded or failed

    def start(self) -> asyncio.Future[None]:
        """Begin loading, unless it has begun."""
        if self._task is None:
            self._task = asyncio.ensure_future(asyncio.to_thread(self._load))
            self._task.add_done_callback(lambda _: self.finished.set())
        return self._task

    async def ready(self) -> None:
        """Wait until loaded (starting the load if nobody has). A failed load is not
        waited for again: the caller then meets the failure itself, and reports it."""
        task = self.start()
        if not task.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    async def start_after(self, event: Awaitable[object], at_most_s: float) -> None:
        """Start once `event` is done (the catch-up), or after `at_most_s` at the latest."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event, at_most_s)
        self.start()

    async def close(self) -> None:
        """Wait for a load in flight (a thread cannot be cancelled)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
