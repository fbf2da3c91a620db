"""MongoDB connection handling through PyMongo's async API (AsyncMongoClient).

mongomock-motor stands in for a server in CI; where its API differs from PyMongo async, the
difference is handled here, once:
- `close()` is a coroutine in PyMongo async and a plain method in mongomock-motor;
- `db.command("ping")` is not emulated: the mock answers a cheap find instead;
- no sessions or transactions (see alerting.py and intents.py for how writes stay safe
  without them).
"""

from __future__ import annotations

import inspect
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument

# How long the owner of a claimed transition has to finish it before others take it over
# (see intents.py): far above a healthy owner's few writes, well below the feed's gap wait.
INTENT_GRACE_S = 0.5

INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "reports": [([("source", ASCENDING), ("external_id", ASCENDING)], {"unique": True}),
                ([("incident_id", ASCENDING), ("received_at", ASCENDING)], {})],
    "incidents": [([("neighbourhood_id", ASCENDING), ("category", ASCENDING), ("status", ASCENDING),
                    ("last_seen_at", DESCENDING)], {}),
                  ([("next_step_at", ASCENDING)], {}),
                  ([("status", ASCENDING), ("escalated_at", ASCENDING)], {}),
                  ([("status", ASCENDING), ("priority", ASCENDING)], {}),
                  # Only incidents with an unfinished transition: what the repair reads.
                  ([("intent.v", ASCENDING)], {"sparse": True})],
    "alerts": [([("recipients", ASCENDING), ("status", ASCENDING)], {}),
               ([("status", ASCENDING), ("_id", ASCENDING)], {}),
               ([("incident_id", ASCENDING)], {})],
    "deliveries": [([("alert_id", ASCENDING)], {})],
    "events": [([("incident_id", ASCENDING), ("_id", ASCENDING)], {})],
    "officers": [([("on_duty", ASCENDING), ("location_at", ASCENDING)], {})],
    "devices": [([("officer_id", ASCENDING)], {})],
    "replies": [([("incident_id", ASCENDING), ("created_at", ASCENDING)], {})],
}


async def maybe_await(value: Any) -> Any:
    """Await a coroutine, pass anything else through (PyMongo async vs mongomock-motor)."""
    return await value if inspect.isawaitable(value) else value


class MongoBase:
    """One client and database; collections by name."""

    def __init__(self, client: Any, db_name: str, *, owns_client: bool,
                 intent_grace_s: float = INTENT_GRACE_S) -> None:
        self._client = client
        self._db = client[db_name]
        self._owns_client = owns_client
        self._intent_grace_s = intent_grace_s

    def col(self, name: str) -> Any:
        """A collection."""
        return self._db[name]

    async def open(self) -> None:
        """Create every index (idempotent) and the counters."""
        for name, indexes in INDEXES.items():
            for keys, options in indexes:
                await self.col(name).create_index(keys, **options)
        await self.col("counters").update_one({"_id": "neighbourhoods"},
                                              {"$setOnInsert": {"value": 0}}, upsert=True)

    async def close(self) -> None:
        """Close the client if this store created it."""
        if self._owns_client:
            await maybe_await(self._client.close())

    async def ping(self) -> None:
        """Raise if the server does not answer."""
        if hasattr(self._client, "mock_client") or type(self._client).__module__.startswith(
                "mongomock"):
            await self.col("counters").find_one({"_id": "neighbourhoods"})
            return
        await self._db.command("ping")

    async def next_seq(self, name: str) -> int:
        """The next value of a named counter (atomic $inc)."""
        return (await self.reserve_seqs(name, 1))[0]

    async def reserve_seqs(self, name: str, n: int) -> range:
        """The next n values of a named counter, in one atomic $inc."""
        doc = await self.col("counters").find_one_and_update(
            {"_id": name}, {"$inc": {"value": n}}, upsert=True,
            return_document=ReturnDocument.AFTER)
        end = int(doc["value"])
        return range(end - n + 1, end + 1)
