"""The event feed: wakes this instance's live streams; other instances' events are polled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from ..domain.records import Event
from ..ports import EventLog

# Event ids come from a counter; with several writers, id n+1 can be committed before id n.
# A reader waits this long for a missing id before it gives the id up as never coming.
GAP_WAIT_S = 2.0


def contiguous(last: int, batch: Sequence[Event]) -> list[Event]:
    """The leading events of `batch` that follow `last` without a gap."""
    out: list[Event] = []
    for e in batch:
        if e.id != last + 1:
            break
        out.append(e)
        last = e.id
    return out


class EventFeed:
    """Reads persisted events in order; `notify()` wakes readers without waiting for a poll."""

    def __init__(self, store: EventLog, poll_s: float = 0.5) -> None:
        self._store = store
        self._poll_s = poll_s
        # Each notify sets the current event and replaces it, so a reader that took the
        # event before reading the store is woken by any notify after that read; nothing
        # ever clears a shared event (a clear after a notify would lose the wake-up).
        self._wake = asyncio.Event()
        self._closed = False

    def notify(self) -> None:
        """Something was committed here: wake every reader."""
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    def close(self) -> None:
        """End every follower (the server is shutting down)."""
        self._closed = True
        self.notify()

    async def follow(self, after_id: int) -> AsyncIterator[list[Event]]:
        """Yield batches of events after `after_id` in id order, without gaps; an empty
        batch is a heartbeat."""
        last = after_id
        gap_seen: float | None = None
        while not self._closed:
            wake = self._wake   # taken before the read: a later notify sets it
            batch = await self._store.events_after(last, limit=500)
            ready = contiguous(last, batch)
            if batch and not ready:
                gap_seen = gap_seen or time.monotonic()
                if time.monotonic() - gap_seen >= GAP_WAIT_S:
                    ready = list(batch)  # the missing id was never committed: move on
            if ready:
                gap_seen = None
                last = ready[-1].id
                yield ready
                continue
            if self._closed:
                return
            try:
                await asyncio.wait_for(wake.wait(), 0.05 if batch else self._poll_s)
            except TimeoutError:
                yield []
