"""SQLite's one connection serves urgent work first: a post that alerts nobody may wait
(ports/deferrable.py), a cry for help's store work, escalation and pushes may not."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.adapters.sqlite.lanes import LaneLock
from server.adapters.sqlite.store import SqliteStore
from server.domain.records import Delivery, Report
from server.ports import IngestItem
from server.ports.deferrable import deferrable, is_deferrable
from tests.alerting_world import WHITEHALL, neighbourhood, post
from tests.conftest import ApiFactory

NOW = datetime.now(UTC)


async def test_urgent_waiters_go_before_deferrable_ones_each_lane_in_order() -> None:
    lock, order = LaneLock(), []
    await lock.acquire()

    async def take(name: str, may_wait: bool) -> None:
        with deferrable(may_wait):
            async with lock:
                order.append(name)

    waiters = [asyncio.ensure_future(take(n, n.startswith("calm"))) for n in (
        "calm1", "calm2", "urgent1", "calm3", "urgent2")]
    await asyncio.sleep(0)   # all queued
    lock.release()
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert order == ["urgent1", "urgent2", "calm1", "calm2", "calm3"]
    assert not lock.locked()


async def test_a_cancelled_waiter_neither_holds_nor_loses_the_lock() -> None:
    lock = LaneLock()
    await lock.acquire()
    gone = asyncio.ensure_future(lock.acquire(deferrable=False))
    after = asyncio.ensure_future(lock.acquire(deferrable=True))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    lock.release()
    await asyncio.wait_for(after, 5)   # handed on past the cancelled waiter
    assert lock.locked()
    lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()


async def test_the_store_commits_an_urgent_write_before_queued_calm_ones(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "lanes.db")
    await store.open()
    try:
        committed: list[str] = []

        async def write(name: str, may_wait: bool) -> None:
            with deferrable(may_wait):
                await store.put_deliveries([Delivery(
                    id=f"dlv_{name}", alert_id="alr_1", officer_id="pc1", token="t",
                    kind="alert", status="sent", created_at=NOW, updated_at=NOW)])
            committed.append(name)

        # Twenty calm writes queue up (the first takes the connection), then an urgent one.
        calm = [asyncio.ensure_future(write(f"calm{i}", True)) for i in range(20)]
        await asyncio.sleep(0)
        urgent = asyncio.ensure_future(write("urgent", False))
        await asyncio.wait_for(asyncio.gather(urgent, *calm), 10)
        assert committed.index("urgent") <= 1, committed   # without lanes: last
        assert len(await store.list_deliveries(["alr_1"])) == 21
    finally:
        await store.close()


class Recording(SqliteStore):
    """The SQLite store, noting for each post it ingests whether it was said to wait."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.deferrable: dict[str, bool] = {}
        self.starts: dict[str, bool] = {}   # incident id -> its transitions said to wait

    async def commit_transition(self, t: Any) -> Any:
        self.starts[t.incident.id] = is_deferrable()
        return await super().commit_transition(t)

    async def ingest_report(self, report: Report, *args: Any, **kwargs: Any) -> Any:
        self.deferrable[report.text] = is_deferrable()
        return await super().ingest_report(report, *args, **kwargs)

    async def ingest_reports(self, items: Sequence[IngestItem]) -> Any:
        for item in items:
            self.deferrable[item.report.text] = is_deferrable()
        return await super().ingest_reports(items)


async def test_posts_that_alert_nobody_are_the_ones_that_wait(
        make_api: ApiFactory, tmp_path: Path) -> None:
    store = Recording(tmp_path / "recording.db")
    api = await make_api(store=store)
    await neighbourhood(api)
    cry, calm = "he has a knife, help", "lovely evening by the river"
    incidents = []
    for i, text in enumerate((cry, calm)):
        r = await api.post("/v1/reports", post(text, f"one{i}", lat=WHITEHALL[0],
                                               lon=WHITEHALL[1]), role="ingest")
        assert r.status == 201, r.body
        incidents.append(r.body["incident_id"])
    # A single post's incident start waits with it (recorded only, for the calm one).
    assert [store.starts[i] for i in incidents] == [False, True]
    r = await api.post("/v1/reports/batch", [post("so bored tonight", "b1"),
                                             post("what a match", "b2")], role="ingest")
    assert r.status == 200, r.body
    r = await api.post("/v1/reports/batch", [post("nice weather", "c1"),
                                             post("someone is breaking in, help", "c2")],
                       role="ingest")
    assert r.status == 200, r.body
    assert store.deferrable == {cry: False, calm: True, "so bored tonight": True,
                                "what a match": True, "nice weather": False,
                                "someone is breaking in, help": False}


class Commits(SqliteStore):
    """The SQLite store, counting its COMMITs."""

    commits = 0

    async def _finish(self) -> None:
        self.commits += 1
        await super()._finish()


@pytest.mark.parametrize("may_wait", [True, False], ids=["deferrable", "urgent"])
async def test_writers_that_queue_up_still_share_one_commit(tmp_path: Path,
                                                            may_wait: bool) -> None:
    store = Commits(tmp_path / "commits.db")
    await store.open()
    try:
        async def write(i: int) -> None:
            with deferrable(may_wait):
                await store.put_deliveries([Delivery(
                    id=f"dlv_{i}", alert_id="alr_1", officer_id="pc1", token="t",
                    kind="alert", status="sent", created_at=NOW, updated_at=NOW)])

        await asyncio.wait_for(asyncio.gather(*(write(i) for i in range(50))), 10)
        # One fsync for many in either lane (calm writers a few at a time).
        assert store.commits <= (8 if may_wait else 3), store.commits
        assert len(await store.list_deliveries(["alr_1"])) == 50
    finally:
        await store.close()
