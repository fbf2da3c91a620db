"""The event feed: wakes this instance's live streams; other instances' events are polled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ..domain.records import Event
from ..ports import Store


class EventFeed:
    """Reads persisted events in order; `notify()` wakes readers without waiting for a poll."""

    def __init__(self, store: Store, poll_s: float = 0.5) -> None:
        self._store = store
        self._poll_s = poll_s
        self._changed = asyncio.Event()
        self._closed = False

    def notify(self) -> None:
        """Something was committed here: wake every reader."""
        self._changed.set()

    def close(self) -> None:
        """End every follower (the server is shutting down)."""
        self._closed = True
        self._changed.set()

    async def follow(self, after_id: int) -> AsyncIterator[list[Event]]:
        """Yield batches of events after `after_id` forever (an empty batch is a heartbeat)."""
        last = after_id
        while not self._closed:
            batch = await self._store.events_after(last, limit=500)
            if batch:
                last = batch[-1].id
                yield batch
                continue
            self._changed.clear()
            if self._closed:
                return
            try:
                await asyncio.wait_for(self._changed.wait(), self._poll_s)
            except TimeoutError:
                yield []
