"""SQLite table of replies to posters."""

from __future__ import annotations

import json

from ...domain.records import Reply
from ..codec import from_doc, to_doc
from .base import SqliteBase


class ReplyTable(SqliteBase):
    """One row per reply."""

    async def put_reply(self, reply: Reply) -> None:
        """Insert or replace a reply."""
        doc = json.dumps(to_doc(reply))
        await self._unit(lambda db: db.execute(
            "INSERT INTO replies (id, incident_id, created_at, doc) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (reply.id, reply.incident_id, reply.created_at.timestamp(), doc)))

    async def list_replies(self, incident_id: str) -> list[Reply]:
        """An incident's replies, oldest first."""
        rows = await self._fetchall("SELECT doc FROM replies WHERE incident_id = ?"
                                    " ORDER BY created_at, id", (incident_id,))
        return [from_doc(Reply, json.loads(r[0])) for r in rows]
