"""Reads never see uncommitted writes, and the event feed never loses a wake-up (issue 15).

Broken variants: SQLite reads run on the writers' connection while a group commit is still
open (they saw rows a failed COMMIT then took back); the feed cleared its shared event after
a read, so a notify in between was lost and readers waited out the poll interval."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from server.adapters.sqlite.store import SqliteStore
from server.domain.records import Event
from server.ports import Store
from server.services.feed import EventFeed


class FirstCommitFails(SqliteStore):
    """A disk that refuses the first COMMIT (full, or gone away)."""

    armed = False

    async def _finish(self) -> None:
        if self.armed and self._open:
            self.armed = False
            batch, self._batch, self._open = self._batch, [], False
            await self.db.execute("ROLLBACK")
            for f in batch:
                f.set_exception(RuntimeError("disk full"))
            raise RuntimeError("disk full")
        await super()._finish()


async def test_a_read_queued_behind_an_open_batch_never_sees_its_rows(tmp_path: Path) -> None:
    store = FirstCommitFails(tmp_path / "iso.db")
    await store.open()
    store.armed = True
    now = datetime.now(UTC)
    try:
        def slow_write(db: sqlite3.Connection) -> None:
            time.sleep(0.1)   # in the store's worker thread: the lock is held meanwhile
            db.execute("INSERT INTO source_cursors VALUES ('a', '1', 0)")

        # A holds the lock while C (a read) and then B (a write) queue behind it, so A
        # leaves its batch open for B, and C comes between.
        a = asyncio.create_task(store._unit(slow_write))
        await asyncio.sleep(0.02)
        c = asyncio.create_task(store.get_cursor("a"))
        await asyncio.sleep(0)
        b = asyncio.create_task(store.put_cursor("b", "2", now))
        got_a, seen, got_b = await asyncio.gather(a, c, b, return_exceptions=True)
        assert isinstance(got_a, RuntimeError)      # A's COMMIT failed and A was told
        assert seen is None                         # so C must never have seen "1"
        assert got_b is None and await store.get_cursor("b") == "2"
        assert await store.get_cursor("a") is None
    finally:
        await store.close()


class OneEventLater:
    """An event log whose first event is committed by someone else just after it is read."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.reads = 0
        self.feed: EventFeed | None = None

    async def events_after(self, after_id: int, *, limit: int = 500,
                           incident_id: str | None = None) -> list[Event]:
        self.reads += 1
        found = [e for e in self.events if e.id > after_id]
        if self.reads == 1:   # committed and notified right after this read returned
            self.events.append(Event("incident_opened", datetime.now(UTC), "inc", id=1))
            assert self.feed is not None
            self.feed.notify()
        return found


async def test_a_notify_between_read_and_wait_is_not_lost() -> None:
    log = OneEventLater()
    feed = EventFeed(cast(Store, log), poll_s=60.0)   # a lost wake-up would wait a minute
    log.feed = feed
    follow = feed.follow(0)
    async with asyncio.timeout(5):
        batch = await anext(follow)
    assert [e.id for e in batch] == [1]
    feed.close()
