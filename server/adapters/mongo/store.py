"""The production store: MongoDB through PyMongo's async API."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient, uri_parser

from .alerting import AlertingCollections
from .cursors import CursorCollection
from .registry import RegistryCollections
from .replies import ReplyCollection
from .security import SecurityCollections

DEFAULT_DB = "bluelight"


class MongoStore(SecurityCollections, AlertingCollections, RegistryCollections,
                 CursorCollection, ReplyCollection):
    """The Store port on one MongoDB database."""

    @classmethod
    def from_uri(cls, uri: str) -> MongoStore:
        """A store with its own client (no I/O until the first operation).

        Writes that must not be lost use majority write concern and retryable writes."""
        db_name = uri_parser.parse_uri(uri).get("database") or DEFAULT_DB
        client: Any = AsyncMongoClient(uri, w="majority", retryWrites=True,
                                       serverSelectionTimeoutMS=10_000)
        return cls(client, db_name, owns_client=True)
