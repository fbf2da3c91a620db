"""Authors to follow up: after a post that was a concern (one that alerted as self-harm,
say), the same author's next posts go to a person at least, for a while.

Alone, "that's me" or "it's time x" reads as chatter to any model, and lands at P4. After
"can't do this anymore, sorry mum" from the same account an hour before, it is the post a
control room most needs to see. Pure: the caller says when, and which posts were concerns.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .records import Band, Category, Triage

Author = tuple[str, str]   # (source, author), as the report stores them


class FollowUps:
    """The authors whose post was a concern lately, each with the category of that post
    and the time until which their posts are followed up; at most `limit` of them (the
    expired, then the least recently noted, make room)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._until: dict[Author, tuple[datetime, Category]] = {}

    def __len__(self) -> int:
        return len(self._until)

    def concern(self, author: Author, posted_at: datetime) -> Category | None:
        """The category of the author's earlier concern, if a post at `posted_at` is still
        within its follow-up."""
        entry = self._until.get(author)
        if entry is None or posted_at > entry[0]:
            return None
        return entry[1]

    def note(self, author: Author, verdict: Triage, posted_at: datetime,
             categories: frozenset[Category], follow_for: timedelta) -> bool:
        """Remember the author if this post is a concern: it alerted, filed under one of
        `categories`. Not a post at review: the category head files awareness campaigns
        and recovery stories under self-harm too, and following every such account would
        fill the review queue with their posts. True if noted. A later post never shortens
        an earlier follow-up."""
        if verdict.band is not Band.ALERT or verdict.category not in categories:
            return False
        until = posted_at + follow_for
        earlier = self._until.pop(author, None)
        if earlier is not None and earlier[0] > until:
            until = earlier[0]
        self._until[author] = (until, verdict.category)   # last: the most recently noted
        if len(self._until) > self.limit:
            self._make_room(posted_at)
        return True

    def _make_room(self, now: datetime) -> None:
        for author in [a for a, (until, _) in self._until.items() if until < now]:
            del self._until[author]
        while len(self._until) > self.limit:
            del self._until[next(iter(self._until))]
