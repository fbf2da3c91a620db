"""MongoDB collection where built-in sources keep their cursors."""

from __future__ import annotations

from datetime import datetime

from .base import MongoBase


class CursorCollection(MongoBase):
    """One document per source: its last saved cursor."""

    async def get_cursor(self, source_id: str) -> str | None:
        """The cursor last saved for a source, or None."""
        doc = await self.col("source_cursors").find_one({"_id": source_id})
        return None if doc is None else str(doc["cursor"])

    async def put_cursor(self, source_id: str, cursor: str, now: datetime) -> None:
        """Save a source's cursor."""
        await self.col("source_cursors").update_one(
            {"_id": source_id}, {"$set": {"cursor": cursor, "updated_at": now}}, upsert=True)
