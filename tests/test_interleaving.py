"""Races that actually interleave (issue 15): every store call yields to the event loop a
seeded number of times (tests/interleaving.py), on SQLite and on MongoDB, over several seeds.

Broken variants both tests were run against (and failed on, every seed): the version guard
removed from the MongoDB claim (intents.py) or from SQLite's commit_transition; and the
step test without run_step's step_seq check. Without the yields, the missing MongoDB guard
passes them all. The batch test failed with the version guard removed from SQLite's
commit_transitions (incidents started twice) on about half its seeds, run after run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server import keys
from server.adapters.mongo.base import maybe_await
from server.adapters.mongo.store import MongoStore
from server.adapters.sqlite.store import SqliteStore
from server.ports import Store
from server.settings import Settings
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, policy_file, post
from tests.conftest import ALL_STORES, Api, ApiFactory, shared_mongo
from tests.interleaving import interleaving
from tests.test_ingest_paths import a_batch_opening_four_incidents, started_once, two_officers

pytestmark = ALL_STORES
SEEDS = range(4)
ACKERS = 6
# The sweep never runs during a test (its first run is at start, before any incident), and
# the wave's timer is 30 s of wall time away: only the test's own calls perform the step.
NO_SWEEP_S = 3600.0


class SetClock:
    """The app's clock, moved by the test (tokens and fixes use the wall time: start there)."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
async def raw_store(store_kind: str, settings: Settings) -> AsyncIterator[Store]:
    """The kind's store, not opened (the app opens it)."""
    client = shared_mongo(store_kind)
    if client is None:
        yield SqliteStore(settings.sqlite_path)
        return
    name = f"bluelight_race_{uuid.uuid4().hex[:12]}"
    yield MongoStore(client, name, owns_client=False)
    if store_kind == "mongodb":
        await client.drop_database(name)
        await maybe_await(client.close())


async def alerted(api: Api, ext: str, officers: list[str]) -> tuple[str, str]:
    """An incident whose first alert went to all of `officers`: (incident id, alert id)."""
    await neighbourhood(api)
    for i, oid in enumerate(officers):
        await officer_on_duty(api, oid, 51.5050 + i * 0.0003, -0.1265)
    r = await api.post("/v1/reports", post("he has a knife, help", ext, lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    assert r.status == 201 and r.body["band"] == "alert", r.body
    items = (await api.get("/v1/me/alerts", role="officer", sub=officers[0])).body["items"]
    assert len(items) == 1
    return r.body["incident_id"], items[0]["id"]


async def detail(api: Api, iid: str) -> dict[str, Any]:
    r = await api.get(f"/v1/incidents/{iid}", role="admin")
    assert r.status == 200
    body: dict[str, Any] = r.body
    return body


@pytest.mark.parametrize("seed", SEEDS)
async def test_concurrent_acknowledgements_have_exactly_one_winner(
        make_api: ApiFactory, settings: Settings, tmp_path: Path, raw_store: Store,
        seed: int) -> None:
    waves = [{"radius_m": 2000, "officers": ACKERS, "ack_timeout_s": 30}]
    api = await make_api(settings=replace(settings, sweep_s=NO_SWEEP_S,
                                          policy_file=policy_file(tmp_path, waves)),
                         store=interleaving(raw_store, seed))
    officers = [f"o{i}" for i in range(ACKERS)]
    iid, aid = await alerted(api, f"race-ack-{seed}", officers)
    answers = await asyncio.gather(*(api.post(f"/v1/alerts/{aid}/ack", role="officer", sub=o)
                                     for o in officers))
    statuses = [r.status for r in answers]
    assert sorted(statuses) == [200] + [409] * (ACKERS - 1), statuses
    winner = officers[statuses.index(200)]
    assert all(r.body["code"] in ("already_acknowledged", "alert_closed")
               for r in answers if r.status == 409)
    d = await detail(api, iid)
    assert d["incident"]["status"] == "acknowledged"
    assert d["incident"]["acknowledged_by"] == winner
    assert [(a["status"], a["acknowledged_by"]) for a in d["alerts"]] == [
        ("acknowledged", winner)]
    acks = [e for e in d["timeline"] if e["kind"] == "acknowledged"]
    assert [e["actor"] for e in acks] == [winner]


@pytest.mark.parametrize("seed", SEEDS)
async def test_one_step_run_concurrently_is_done_exactly_once(
        make_api: ApiFactory, settings: Settings, tmp_path: Path, raw_store: Store,
        seed: int) -> None:
    waves = [{"radius_m": 1000, "officers": 1, "ack_timeout_s": 30},
             {"radius_m": 5000, "officers": 1, "ack_timeout_s": 30}]
    clock = SetClock()
    api = await make_api(settings=replace(settings, sweep_s=NO_SWEEP_S,
                                          policy_file=policy_file(tmp_path, waves)),
                         store=interleaving(raw_store, seed), clock=clock)
    iid, _ = await alerted(api, f"race-step-{seed}", ["near", "far"])
    store = api.app[keys.STORE]
    inc = await store.get_incident(iid)
    assert inc is not None and inc.next_step_at is not None
    clock.at = inc.next_step_at + timedelta(seconds=1)   # wave 1 is overdue
    escalation = api.app[keys.ESCALATION]
    performed = await asyncio.gather(*(escalation.run_step(iid, inc.step_seq)
                                       for _ in range(8)))
    assert performed.count(True) == 1, performed
    await api.app[keys.TASKS].idle()   # the pushes wave 2 started are recorded
    d = await detail(api, iid)
    assert [(a["wave"], a["status"]) for a in d["alerts"]] == [(1, "expired"), (2, "pending")]
    kinds = [e["kind"] for e in d["timeline"]]
    assert (kinds.count("alert_sent"), kinds.count("alert_expired")) == (2, 1), kinds
    after = await store.get_incident(iid)
    assert after is not None and after.step_seq == inc.step_seq + 1 and after.wave == 2
    # Wave 2 is overdue too now: the calls for wave 1's step are stale and must do nothing.
    assert after.next_step_at is not None
    clock.at = after.next_step_at + timedelta(seconds=1)
    stale = await asyncio.gather(*(escalation.run_step(iid, inc.step_seq) for _ in range(4)))
    assert stale == [False] * 4
    await api.app[keys.TASKS].idle()
    assert await detail(api, iid) == d


# The batch's starts read, decide and commit in three calls: longer waits around each (and
# more seeds) let the sweep's starts land in between, which the usual waits rarely do.
@pytest.mark.parametrize("seed", range(8))
async def test_a_batch_starting_its_incidents_while_the_sweep_does_starts_each_once(
        make_api: ApiFactory, settings: Settings, raw_store: Store, seed: int) -> None:
    api = await make_api(settings=replace(settings, sweep_s=NO_SWEEP_S),
                         store=interleaving(raw_store, seed, most=16))
    await two_officers(api)
    escalation, done = api.app[keys.ESCALATION], asyncio.Event()

    async def sweeping() -> None:   # the sweep's start of every open incident, over and over
        store = api.app[keys.STORE]
        while not done.is_set():
            waiting = await store.list_incidents(status="open")
            await asyncio.gather(*(escalation.start(i.id) for i in waiting))

    async def batch() -> list[str]:
        try:
            return await a_batch_opening_four_incidents(api)
        finally:
            done.set()

    ids, *_ = await asyncio.gather(batch(), sweeping(), sweeping())
    await started_once(api, ids)
