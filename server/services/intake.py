"""Posts from the built-in sources: keep only what concerns the force, then ingest it.

Sources are driving adapters (like http/): they turn what a network sends into an
`InboundPost` and hand it here. A post that cannot be placed in a neighbourhood and does
not address the force (a mention, a configured hashtag) is counted and dropped in memory,
never stored. Everything kept goes through the same ingest path as the API.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain.sources import normalise_source
from ..ports import RedactionStore
from .geofence import GeofenceService
from .reports import ReportService

LIMITS = {"text": 10_000, "external_id": 256, "author": 256, "url": 2048, "lang": 16,
          "place": 500}


@dataclass(frozen=True)
class Interest:
    """What addresses the force on a network: its accounts and hashtags (lower case)."""

    mentions: frozenset[str] = frozenset()
    hashtags: frozenset[str] = frozenset()

    @classmethod
    def of(cls, mentions: Collection[str] = (), hashtags: Collection[str] = ()) -> Interest:
        return cls(frozenset(m.lower().lstrip("@") for m in mentions),
                   frozenset(h.lower().lstrip("#") for h in hashtags))


@dataclass(frozen=True)
class InboundPost:
    """One post as a source saw it."""

    source: str
    external_id: str
    text: str
    posted_at: datetime
    author: str | None = None
    url: str | None = None
    lang: str | None = None
    lat: float | None = None
    lon: float | None = None
    mentions: tuple[str, ...] = ()    # accounts the post mentions (handles or ids)
    tags: tuple[str, ...] = ()        # hashtags, without '#'
    context: dict[str, Any] = field(default_factory=dict)
    place: str | None = None          # a place the network tagged the post with
    place_bbox: tuple[float, float, float, float] | None = None   # its west, south, east, north

    def body(self) -> dict[str, Any]:
        """The ingest body the API would have received for this post."""
        body: dict[str, Any] = {
            "source": self.source, "external_id": self.external_id[:LIMITS["external_id"]],
            "text": self.text[:LIMITS["text"]], "posted_at": self.posted_at.isoformat()}
        for name in ("author", "url", "lang", "place"):
            value = getattr(self, name)
            if value:
                body[name] = value[:LIMITS[name]]
        if self.lat is not None and self.lon is not None:
            body["location"] = {"lat": self.lat, "lon": self.lon}
        if self.place_bbox is not None:
            body["place_bbox"] = dict(zip(("west", "south", "east", "north"), self.place_bbox,
                                          strict=True))
        if self.context:
            body["context"] = self.context
        return body


class Kept(enum.Enum):
    """What became of an offered post."""

    INGESTED = "ingested"
    DUPLICATE = "duplicate"
    DROPPED = "dropped"


class Intake:
    """The use case the sources drive: filter, ingest, and deletions."""

    def __init__(self, reports: ReportService, geofence: GeofenceService,
                 store: RedactionStore) -> None:
        self._reports, self._geofence, self._store = reports, geofence, store

    def concerns(self, post: InboundPost, interest: Interest) -> bool:
        """True if the post addresses the force or can be placed in a neighbourhood."""
        if any(m.lower().lstrip("@") in interest.mentions for m in post.mentions):
            return True
        if any(t.lower().lstrip("#") in interest.hashtags for t in post.tags):
            return True
        if post.lat is not None and post.lon is not None and self._geofence.locate(
                post.lat, post.lon) is not None:
            return True
        return self._geofence.gazetteer.match(post.text) is not None

    async def offer(self, post: InboundPost, interest: Interest, *,
                    addressed: bool = False) -> Kept:
        """Ingest the post if it concerns the force (once: a repeat is a duplicate).
        `addressed`: the network says the post was sent to the force (a mention
        notification), so it is kept wherever it comes from."""
        if not post.text.strip() or not (addressed or self.concerns(post, interest)):
            return Kept.DROPPED
        ingested = await self._reports.ingest(post.body())
        return Kept.INGESTED if ingested.created else Kept.DUPLICATE

    async def delete(self, source: str, external_id: str) -> bool:
        """The author deleted a post: remove its content, as POST /v1/reports/deletions."""
        return await self._store.redact_report(normalise_source(source),
                                               external_id) is not None
