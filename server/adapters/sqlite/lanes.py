"""The lock on SQLite's one connection, with two lanes: work that may wait (ports/
deferrable.py) is served only when no urgent work is queued. Each lane is first come,
first served, as asyncio.Lock is."""

from __future__ import annotations

import asyncio
import collections
from types import TracebackType

from ...ports.deferrable import is_deferrable


class LaneLock:
    """asyncio.Lock's contract (acquire, release, async with), with an urgent lane."""

    def __init__(self) -> None:
        self._held = False
        self._lanes: tuple[collections.deque[asyncio.Future[None]], ...] = (
            collections.deque(), collections.deque())   # urgent, deferrable

    def locked(self) -> bool:
        return self._held

    async def acquire(self, *, deferrable: bool | None = None) -> bool:
        """Take the lock; `deferrable` defaults to what the work in hand said."""
        lane = self._lanes[is_deferrable() if deferrable is None else deferrable]
        if not self._held and not any(self._lanes):
            self._held = True
            return True
        waiter = asyncio.get_running_loop().create_future()
        lane.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()   # handed over just as we were cancelled: pass it on
            else:
                lane.remove(waiter)
            raise
        return True

    def release(self) -> None:
        """Hand the lock to the first urgent waiter, else the first deferrable one."""
        if not self._held:
            raise RuntimeError("LaneLock is not held")
        for lane in self._lanes:
            while lane:
                waiter = lane.popleft()
                if not waiter.done():
                    waiter.set_result(None)   # still held: ownership passes on
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
