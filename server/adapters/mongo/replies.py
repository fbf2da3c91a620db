"""MongoDB collection of replies to posters."""

from __future__ import annotations

from ...domain.records import Reply
from ..codec import from_doc, to_doc
from .base import MongoBase


class ReplyCollection(MongoBase):
    """One document per reply."""

    async def put_reply(self, reply: Reply) -> None:
        """Insert or replace a reply."""
        await self.col("replies").replace_one({"_id": reply.id},
                                              {**to_doc(reply), "_id": reply.id}, upsert=True)

    async def list_replies(self, incident_id: str) -> list[Reply]:
        """An incident's replies, oldest first."""
        docs = await self.col("replies").find({"incident_id": incident_id}).sort(
            [("created_at", 1), ("_id", 1)]).to_list(None)
        return [from_doc(Reply, d) for d in docs]
