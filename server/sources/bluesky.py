"""Bluesky through Jetstream v1 (JSON over a websocket): posts created and deleted.

Never miss: the cursor is the `time_us` of the last event handled, saved at least every
second and at shutdown. A reconnect resumes a few seconds before it (Jetstream cursors are
inclusive and time-based), so a crash costs duplicates, which (source, external_id) absorbs,
never a gap. Jetstream v1 silently starts at its oldest event when asked for one it no longer
has: if the first event after a reconnect is newer than the last one handled, posts may
have been skipped, and the gap is counted, logged and audited.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from ..domain.errors import DomainError
from ..domain.times import parse_time
from ..ports import Clock, CursorStore
from ..services.audit import AuditLog
from ..services.intake import InboundPost, Intake, Interest
from .status import SourceStatus, State

POST = "app.bsky.feed.post"
REWIND_US = 5_000_000      # resume this far before the cursor (duplicates are absorbed)
SAVE_EVERY_S = 1.0         # persist the cursor at least this often while events flow
LIVE_LAG_S = 30.0          # behind by more than this: catching_up, not live
_HANDLE = re.compile(r"(?<![\w.])@([a-z0-9][a-z0-9.-]*\.[a-z]{2,})", re.IGNORECASE)
_TAG = re.compile(r"(?<![\w#])#(\w{1,64})")


@dataclass(frozen=True)
class BlueskyAccount:
    """The force's own Bluesky account, for replies."""

    pds_url: str
    handle: str
    app_password: str


@dataclass(frozen=True)
class JetstreamConfig:
    """One Bluesky source."""

    id: str
    url: str
    reply: BlueskyAccount | None = None
    interest: Interest = field(default_factory=Interest)
    ping_s: float = 20.0       # websocket ping; no pong in time closes the connection
    silence_s: float = 60.0    # no frame for this long: reconnect
    backoff: tuple[float, float] = (1.0, 60.0)
    reply_per_hour: int = 100         # replies this account may send in any rolling hour


def _uri(did: str, rkey: str) -> str:
    return f"at://{did}/{POST}/{rkey}"


def to_post(source: str, frame: dict[str, Any]) -> InboundPost | None:
    """The post in a Jetstream commit frame that creates one, else None."""
    commit, did = frame.get("commit") or {}, str(frame.get("did", ""))
    record = commit.get("record") or {}
    if not isinstance(record, dict) or not isinstance(record.get("text"), str) or not did:
        return None
    rkey = str(commit.get("rkey", ""))
    stamp = datetime.fromtimestamp(int(frame["time_us"]) / 1e6, UTC)
    try:
        posted = parse_time(str(record.get("createdAt")), "createdAt")
    except DomainError:
        posted = stamp
    mentions, tags, links = [], [], []
    for facet in record.get("facets") or ():
        for feature in (facet or {}).get("features") or ():
            kind = str((feature or {}).get("$type", ""))
            if kind.endswith("#mention"):
                mentions.append(str(feature.get("did", "")))
            elif kind.endswith("#tag"):
                tags.append(str(feature.get("tag", "")))
            elif kind.endswith("#link"):
                links.append(str(feature.get("uri", "")))
    text = record["text"]
    mentions += _HANDLE.findall(text)
    tags += _TAG.findall(text)
    embed = record.get("embed") or {}
    embed_type = str(embed.get("$type", ""))
    context: dict[str, Any] = {}
    if embed_type.startswith("app.bsky.embed.record"):
        context["quote"] = True
    external = (embed.get("external") or {}).get("uri")
    if external:
        links.append(str(external))
    if links:
        context["links"] = [x[:2048] for x in links[:20] if x]
    parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
    if parent:
        context["reply_to"] = str(parent)[:2048]
    langs = record.get("langs") or []
    return InboundPost(
        source=source, external_id=_uri(did, rkey), text=text, posted_at=posted,
        author=did, url=f"https://bsky.app/profile/{did}/post/{rkey}",
        lang=str(langs[0]) if langs else None, mentions=tuple(mentions), tags=tuple(tags),
        context=context)


class JetstreamSource:
    """Reads one Jetstream endpoint; the supervisor reconnects it."""

    def __init__(self, config: JetstreamConfig, intake: Intake, cursors: CursorStore,
                 audit: AuditLog, clock: Clock) -> None:
        self.config, self._intake, self._cursors = config, intake, cursors
        self._audit, self._clock = audit, clock
        self.status = SourceStatus(config.id, "bluesky")
        self.backoff = config.backoff
        self._cursor: int | None = None        # time_us of the last event handled
        self._loaded = False
        self._saved: int | None = None
        self._saved_at = 0.0

    async def _load(self) -> None:
        if not self._loaded:
            saved = await self._cursors.get_cursor(self.config.id)
            self._cursor = self._saved = int(saved) if saved else None
            self.status.cursor = saved
            self._loaded = True

    async def flush(self) -> None:
        """Persist the cursor if it moved."""
        if self._cursor is not None and self._cursor != self._saved:
            await self._cursors.put_cursor(self.config.id, str(self._cursor),
                                           self._clock.now())
            self._saved = self._cursor
        self._saved_at = self._clock.now().timestamp()

    def _params(self) -> dict[str, str]:
        params = {"wantedCollections": POST}
        if self._cursor is not None:
            params["cursor"] = str(max(0, self._cursor - REWIND_US))
        return params

    async def run(self) -> None:
        """One connection: read frames until it ends."""
        await self._load()
        resumed_after = self._cursor
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.ws_connect(
                self.config.url, params=self._params(), heartbeat=self.config.ping_s,
                timeout=aiohttp.ClientWSTimeout(ws_receive=self.config.silence_s, ws_close=5.0),
                max_msg_size=4 * 2**20) as ws:
            self.status.state = State.CATCHING_UP if resumed_after else State.LIVE
            first = True
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    if msg.type is aiohttp.WSMsgType.ERROR:
                        raise ConnectionError(f"websocket error: {ws.exception()}")
                    continue
                frame = json.loads(msg.data)
                stamp = int(frame.get("time_us", 0))
                if first and resumed_after is not None and stamp > resumed_after:
                    await self._gap(resumed_after, stamp)
                first = False
                await self._handle(frame)
                self._advance(stamp)
                if self._clock.now().timestamp() - self._saved_at >= SAVE_EVERY_S:
                    await self.flush()
            await self.flush()

    def _advance(self, stamp: int) -> None:
        if self._cursor is None or stamp > self._cursor:
            self._cursor = stamp
            self.status.cursor = str(stamp)
            self.status.last_event_at = datetime.fromtimestamp(stamp / 1e6, UTC)
        lag = (self._clock.now() - self.status.last_event_at).total_seconds() if (
            self.status.last_event_at) else 0.0
        self.status.state = State.LIVE if lag <= LIVE_LAG_S else State.CATCHING_UP

    async def _gap(self, after: int, first: int) -> None:
        self.status.counts["gaps"] += 1
        detail = {"after_time_us": after, "resumed_at_time_us": first,
                  "missing_s": round((first - after) / 1e6, 3)}
        logging.getLogger(__name__).warning("source %s: replay gap %s", self.config.id, detail)
        await self._audit.record(None, "source_gap", self.config.id, None, detail)

    async def _handle(self, frame: dict[str, Any]) -> None:
        commit = frame.get("commit")
        if frame.get("kind") != "commit" or not isinstance(commit, dict) or (
                commit.get("collection") != POST):
            return
        self.status.counts["seen"] += 1
        op = commit.get("operation")
        if op == "delete":
            did, rkey = str(frame.get("did", "")), str(commit.get("rkey", ""))
            if await self._intake.delete(self.config.id, _uri(did, rkey)):
                self.status.counts["deleted"] += 1
            return
        if op != "create":
            return
        post = to_post(self.config.id, frame)
        if post is None:
            return
        try:
            kept = await self._intake.offer(post, self.config.interest)
        except DomainError as exc:   # this post is malformed: record it and go on
            self.status.error(f"{post.external_id}: {exc}", self._clock.now())
            return
        self.status.counted(kept)
