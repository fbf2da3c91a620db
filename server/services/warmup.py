"""The triage model's embedding table (WordLlama, ~0.4 s to load) and language identifier
(~0.6 s) load once, in a worker thread, off the path to readiness: after the start-up
catch-up of overdue escalation steps (which it would otherwise slow by about as much), or
at once when a post needs it first.
A post waits for it without holding up the event loop. Then, with no post waiting for it,
a second step makes what triage would otherwise make post by post (the rows of the
commonest words: see Triager.fill), on the loop, a small step at a time, posts between."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)


class Warmup:
    """Runs `load` in a worker thread once: when `start` is called or a caller needs it;
    then, if the load succeeded, the steps of `after` on the loop, letting every other
    ready task run between two steps (nobody waits for them)."""

    def __init__(self, load: Callable[[], None],
                 after: Callable[[], Iterable[object]] | None = None) -> None:
        self._load, self._after = load, after
        self._task: asyncio.Future[None] | None = None
        self._both: asyncio.Future[None] | None = None
        self.finished = asyncio.Event()   # set once both steps have ended (or the load failed)

    def start(self) -> asyncio.Future[None]:
        """Begin loading, unless it has begun."""
        if self._task is None:
            self._task = asyncio.ensure_future(asyncio.to_thread(self._load))
            self._both = asyncio.ensure_future(self._then(self._task))
            self._both.add_done_callback(lambda _: self.finished.set())
        return self._task

    async def _then(self, loading: asyncio.Future[None]) -> None:
        try:
            await loading
        except Exception:   # the post that needs the load meets the failure and reports it
            return           # (and `after` needs what it loads)
        if self._after is not None:
            try:
                for _ in self._after():
                    await asyncio.sleep(0)   # posts and timers first
            except Exception:   # nothing is lost: triage then makes it post by post
                log.exception("the warm-up's second step failed")

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
        """Wait for a step in flight (a thread cannot be cancelled)."""
        if self._both is not None:
            with contextlib.suppress(Exception):
                await self._both
