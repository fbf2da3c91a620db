"""Crash-safe versioned transitions on MongoDB without multi-document transactions.

A transition changes one incident, some of its alerts and appends events: several documents.
The claim is the one atomic write: a guarded update of the incident (on its version, and only
if no earlier transition of it is unfinished) that sets the new incident AND records the whole
transition on it as an "intent". Everything after the claim replays the intent idempotently,
so anyone can finish it, any number of times, cut anywhere:
1. event ids: a block is reserved from the counter and recorded on the intent (guarded: the
   first recorded block is the one used; a losing finisher's block is left unused, a gap the
   feed waits out, so only the claim's owner reserves while the intent is young);
2. alerts: replaced as in the intent, guarded by the intent's version stored on each alert
   (`_v`), so a finisher running late never overwrites a newer transition's alert;
3. events: inserted under their recorded ids (a duplicate key means already there);
4. the intent is removed (guarded on its version).

Readers finish or apply a pending intent before they answer (see AlertingCollections): the
incident a reader gets already holds the claimed state, so its alerts must too before anyone
decides from them; events do not feed decisions and follow. A claim is refused while an
intent is pending, so transitions of one incident apply in order. On a replica set a
multi-document transaction would give the same visibility; this order is safe on every
topology, mongomock included, and keeps one code path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from typing import Any

from pymongo.errors import DuplicateKeyError

from ...domain.transitions import Transition
from ..codec import to_doc
from .base import MongoBase

PENDING = {"intent.v": {"$exists": True}}   # matches the sparse index on intent.v
POLL_S = 0.005   # how often a blocked claimant looks again for the owner to finish
REPAIR_BATCH = 100


def alert_doc(alert: Any, version: int | None = None) -> dict[str, Any]:
    doc = to_doc(alert)
    doc["_id"] = doc["id"]
    if version is not None:
        doc["_v"] = version
    return doc


class TransitionIntents(MongoBase):
    """The claim-then-replay protocol for commit_transition, and its repair."""

    async def commit_transition(self, t: Transition) -> bool:
        """Apply if the stored version equals t.incident.version (the atomic claim)."""
        new = replace(t.incident, version=t.incident.version + 1)
        intent = {"v": new.version, "at": time.time(), "ids": None,
                  "alerts": [alert_doc(a, new.version) for a in t.alerts],
                  "events": [to_doc(e) for e in t.events]}
        claim = await self.col("incidents").update_one(
            {"_id": new.id, "version": t.incident.version, "intent": {"$exists": False}},
            {"$set": {**to_doc(new), "_id": new.id, "intent": intent}})
        if claim.matched_count == 0:
            await self._unblock(new.id)
            return False
        await self._finish(new.id, intent)
        return True

    async def commit_transitions(self, ts: Sequence[Transition]) -> list[bool]:
        """commit_transition for each, concurrently: each keeps its own claim and intent,
        so each is all or nothing across a crash (one claim per document is what MongoDB
        makes atomic without a transaction). All finish before an exception is raised."""
        done = await asyncio.gather(*(self.commit_transition(t) for t in ts),
                                    return_exceptions=True)
        for d in done:
            if isinstance(d, BaseException):
                raise d
        return [d is True for d in done]

    async def _unblock(self, iid: str) -> None:
        """After a lost claim: if the incident has an unfinished transition, wait for its
        owner (at most the grace period) or finish it, so the caller's re-read is final."""
        # A local deadline too: the intent's time is another instance's wall clock.
        deadline = time.monotonic() + self._intent_grace_s
        while True:
            doc = await self.col("incidents").find_one({"_id": iid, **PENDING}, {"intent": 1})
            if doc is None:
                return
            if self._may_finish(doc["intent"]) or time.monotonic() >= deadline:
                await self._finish(iid, doc["intent"])
                return
            await asyncio.sleep(POLL_S)

    def _may_finish(self, intent: dict[str, Any]) -> bool:
        """Anyone may finish an intent whose event ids are recorded (nothing left to race
        for), or one whose owner has had its grace period (it crashed or was cancelled)."""
        return (intent["ids"] is not None or not intent["events"]
                or time.time() - intent["at"] >= self._intent_grace_s)

    async def _settle(self, iid: str, intent: dict[str, Any], *, force: bool = False) -> None:
        """Make a pending intent's alerts visible; finish it if that is safe now."""
        if force or self._may_finish(intent):
            await self._finish(iid, intent)
        else:
            await self._put_alerts(intent)

    async def settle_incident(self, iid: str) -> None:
        """Settle the incident's pending intent, if it has one."""
        doc = await self.col("incidents").find_one({"_id": iid, **PENDING}, {"intent": 1})
        if doc is not None:
            await self._settle(iid, doc["intent"])

    async def repair_transitions(self, *, force: bool = False) -> int:
        """Settle every pending intent (finish those a dead owner left, or all if `force`:
        at open, where no owner of ours is alive). The number found."""
        docs = await self.col("incidents").find(PENDING, {"intent": 1}).limit(
            REPAIR_BATCH).to_list(None)
        for doc in docs:
            await self._settle(doc["_id"], doc["intent"], force=force)
        return len(docs)

    async def _finish(self, iid: str, intent: dict[str, Any]) -> None:
        ids: Sequence[int] | None = intent["ids"]
        if ids is None and intent["events"]:
            ids = await self._reserve_event_ids(iid, intent)
            if ids is None:
                return   # finished by someone else meanwhile
        await self._put_alerts(intent)
        for eid, event in zip(ids or (), intent["events"], strict=True):
            with suppress(DuplicateKeyError):   # another finisher wrote it
                await self.col("events").insert_one({**event, "id": eid, "_id": eid})
        await self.col("incidents").update_one({"_id": iid, "intent.v": intent["v"]},
                                               {"$unset": {"intent": ""}})

    async def _reserve_event_ids(self, iid: str, intent: dict[str, Any]) -> list[int] | None:
        block = list(await self.reserve_seqs("events", len(intent["events"])))
        recorded = await self.col("incidents").update_one(
            {"_id": iid, "intent.v": intent["v"], "intent.ids": None},
            {"$set": {"intent.ids": block}})
        if recorded.modified_count:
            return block
        doc = await self.col("incidents").find_one({"_id": iid, "intent.v": intent["v"]},
                                                   {"intent.ids": 1})
        return None if doc is None else list(doc["intent"]["ids"])

    async def _put_alerts(self, intent: dict[str, Any]) -> None:
        for doc in intent["alerts"]:
            # A duplicate key: the guard refused, a newer transition wrote this alert.
            with suppress(DuplicateKeyError):
                await self.col("alerts").replace_one(
                    {"_id": doc["_id"], "$or": [{"_v": {"$lte": intent["v"]}}, {"_v": None}]},
                    doc, upsert=True)
