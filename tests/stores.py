"""Store adapters for the contract suite: SQLite, mongomock-motor, and real MongoDB if set.

mongomock-motor stands in for a MongoDB server, which no registry here ships. Set
MONGODB_URI (e.g. mongodb://localhost:27017/?replicaSet=rs0) to run the same suite against a
real server too; each test gets its own database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mongomock_motor import AsyncMongoMockClient

from server.adapters.mongo.base import maybe_await
from server.adapters.mongo.store import MongoStore
from server.adapters.sqlite.store import SqliteStore
from server.ports import Store

MONGODB_URI = os.environ.get("MONGODB_URI")
STORE_KINDS = ["sqlite", "mongomock"] + (["mongodb"] if MONGODB_URI else [])


def mock_client() -> Any:
    """One in-memory MongoDB that several stores (instances) can share."""
    return AsyncMongoMockClient()


@asynccontextmanager
async def open_store(kind: str, tmp_path: Path, client: Any = None,
                     db_name: str | None = None) -> AsyncIterator[Store]:
    """An opened store of `kind`; closed (and a real test database dropped) afterwards."""
    name = db_name or f"bluelight_test_{uuid.uuid4().hex[:12]}"
    store: Store
    if kind == "sqlite":
        store = SqliteStore(tmp_path / "contract.db")
    elif kind == "mongomock":
        store = MongoStore(client or mock_client(), name, owns_client=False)
    else:
        assert MONGODB_URI
        from pymongo import AsyncMongoClient

        client = AsyncMongoClient(MONGODB_URI)
        store = MongoStore(client, name, owns_client=False)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        if kind == "mongodb":
            await client.drop_database(name)
            await maybe_await(client.close())
