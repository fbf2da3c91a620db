"""Replies to posters: how they are recorded, and how one is sent on a network."""

from __future__ import annotations

from typing import Protocol

from ..domain.records import Reply, Report


class ReplyStore(Protocol):
    """Replies to posters (only the reply service writes them)."""

    async def put_reply(self, reply: Reply) -> None:
        """Insert or replace a reply."""
        ...

    async def list_replies(self, incident_id: str) -> list[Reply]:
        """An incident's replies, oldest first."""
        ...


class ReplySender(Protocol):
    """Sends one reply on one network; raises ReplyFailed with a reason a person can read."""

    async def send(self, report: Report, text: str, key: str) -> str:
        """Reply to `report`; `key` is the same for every retry of this reply (the network
        uses it to refuse a second copy). Returns the reply's id on the network."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
