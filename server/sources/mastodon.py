"""Mastodon: the streaming API over a websocket, and catch-up over REST after each reconnect.

Never miss: on every connection the source subscribes to its streams first, then pages
each timeline forward from its saved id (`min_id`, following the `Link: rel="prev"` pages
until one comes back empty), honouring `X-RateLimit-*`, and only then reads the live
stream; anything seen twice is absorbed by (source, external_id). The cursor is the newest
id handled per stream (status ids, notification ids for `user`), saved as JSON at least
every second and at shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from ..domain.errors import DomainError
from ..domain.times import parse_time
from ..ports import Clock, CursorStore
from ..services.intake import InboundPost, Intake, Interest
from .html_text import text_of
from .status import SourceStatus, State
from .supervisor import SourceFailed

log = logging.getLogger(__name__)
SAVE_EVERY_S = 1.0
MAX_PAGES = 250          # catch-up beyond this (10,000 posts) is recorded as a gap
MAX_WAIT_S = 900.0       # never sleep longer than this for a rate-limit reset
PAGE = 40                # Mastodon's largest page


@dataclass(frozen=True)
class MastodonConfig:
    """One Mastodon account's view: which streams to read."""

    id: str
    base_url: str
    token: str
    streams: tuple[str, ...] = ("public:local",)
    reply: bool = False        # reply as this account (the token needs write:statuses)
    interest: Interest = field(default_factory=Interest)
    ping_s: float = 20.0
    silence_s: float = 120.0
    backoff: tuple[float, float] = (1.0, 60.0)
    reply_per_hour: int = 100         # replies this account may send in any rolling hour


def rest_path(stream: str) -> str:
    """The REST timeline that holds what a stream carries."""
    if stream == "public:local":
        return "/api/v1/timelines/public?local=true"
    if stream == "public":
        return "/api/v1/timelines/public"
    if stream == "user":
        return "/api/v1/notifications?types[]=mention"
    return f"/api/v1/timelines/tag/{quote(stream.removeprefix('hashtag:'), safe='')}"


def subscription(stream: str) -> dict[str, str]:
    """The streaming API's subscribe message for a stream."""
    if stream.startswith("hashtag:"):
        return {"type": "subscribe", "stream": "hashtag", "tag": stream.removeprefix("hashtag:")}
    return {"type": "subscribe", "stream": stream}


def _newer(a: str, b: str | None) -> bool:
    """Mastodon ids are decimal strings that sort by length, then by digits."""
    return b is None or (len(a), a) > (len(b), b)


def to_post(source: str, status: Mapping[str, Any]) -> InboundPost | None:
    """A status as an inbound post (a boost is the boosted status, marked as a repost)."""
    context: dict[str, Any] = {}
    if status.get("reblog"):
        status, context["repost"] = status["reblog"], True
    content = status.get("content")
    if not isinstance(content, str) or not status.get("id"):
        return None
    text = text_of(content)
    if status.get("spoiler_text"):
        text = f"{status['spoiler_text']}\n{text}"
    try:
        posted = parse_time(str(status.get("created_at")), "created_at")
    except DomainError:
        posted = datetime.now(UTC)
    if status.get("in_reply_to_id"):
        context["reply_to"] = str(status["in_reply_to_id"])[:2048]
    if status.get("quote"):
        context["quote"] = True
    card = status.get("card") or {}
    if card.get("url"):
        context["links"] = [str(card["url"])[:2048]]
    account = status.get("account") or {}
    mentions = tuple(str(m.get("acct", "")) for m in status.get("mentions") or ())
    tags = tuple(str(t.get("name", "")) for t in status.get("tags") or ())
    return InboundPost(
        source=source, external_id=str(status["id"]), text=text, posted_at=posted,
        author=str(account.get("acct") or "") or None, url=status.get("url") or status.get("uri"),
        lang=status.get("language"), mentions=mentions, tags=tags, context=context)


def _next_page(resp: aiohttp.ClientResponse) -> str | None:
    """The newer page (Mastodon's `rel="prev"` link), if any."""
    link = resp.links.get("prev")
    return str(link["url"]) if link else None


class MastodonSource:
    """Reads one Mastodon account's streams; the supervisor reconnects it."""

    def __init__(self, config: MastodonConfig, intake: Intake, cursors: CursorStore,
                 clock: Clock) -> None:
        self.config, self._intake, self._cursors, self._clock = config, intake, cursors, clock
        self.status = SourceStatus(config.id, "mastodon")
        self.backoff = config.backoff
        self._ids: dict[str, str] = {}
        self._loaded = False
        self._dirty = False
        self._saved_at = 0.0
        self.rate_limited = 0   # how many times a rate limit made it wait

    async def _load(self) -> None:
        if not self._loaded:
            saved = await self._cursors.get_cursor(self.config.id)
            self._ids = dict(json.loads(saved)) if saved else {}
            self.status.cursor = saved
            self._loaded = True

    async def flush(self) -> None:
        """Persist the per-stream ids if they moved."""
        if self._dirty:
            cursor = json.dumps(self._ids, sort_keys=True)
            await self._cursors.put_cursor(self.config.id, cursor, self._clock.now())
            self.status.cursor, self._dirty = cursor, False
        self._saved_at = self._clock.now().timestamp()

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    async def run(self) -> None:
        """One connection: subscribe, catch up over REST, then read the stream."""
        await self._load()
        parts = urlsplit(self._url("/api/v1/streaming"))
        ws_url = urlunsplit(parts._replace(scheme="wss" if parts.scheme == "https" else "ws"))
        headers = {"Authorization": f"Bearer {self.config.token}"}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            try:
                ws = await session.ws_connect(
                    ws_url, heartbeat=self.config.ping_s, max_msg_size=4 * 2**20,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=self.config.silence_s,
                                                    ws_close=5.0))
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (401, 403):
                    raise SourceFailed(f"the access token was refused ({exc.status})") from None
                raise
            async with ws:
                for stream in self.config.streams:
                    await ws.send_json(subscription(stream))
                self.status.state = State.CATCHING_UP
                for stream in self.config.streams:
                    await self._catch_up(session, stream)
                await self.flush()
                self.status.state = State.LIVE
                async for msg in ws:
                    if msg.type is aiohttp.WSMsgType.ERROR:
                        raise ConnectionError(f"websocket error: {ws.exception()}")
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        await self._event(json.loads(msg.data))
                    if self._clock.now().timestamp() - self._saved_at >= SAVE_EVERY_S:
                        await self.flush()
            await self.flush()

    async def _get(self, session: aiohttp.ClientSession, url: str) -> tuple[Any, str | None]:
        """One REST page, waiting out rate limits; (JSON, the newer page's URL)."""
        while True:
            async with session.get(url) as resp:
                if resp.status in (401, 403):
                    raise SourceFailed(f"the access token was refused ({resp.status})")
                wait = self._rate_wait(resp)
                if resp.status != 429:
                    resp.raise_for_status()
                    return await resp.json(), _next_page(resp)
            self.rate_limited += 1
            log.info("source %s: rate limited, waiting %.1f s", self.config.id, wait)
            await asyncio.sleep(wait)

    def _rate_wait(self, resp: aiohttp.ClientResponse) -> float:
        """Seconds until the rate-limit window resets (0 when requests remain)."""
        remaining = resp.headers.get("X-RateLimit-Remaining")
        if resp.status != 429 and (remaining is None or int(remaining) > 0):
            return 0.0
        reset = resp.headers.get("X-RateLimit-Reset")
        try:
            until = (parse_time(reset, "reset") - self._clock.now()).total_seconds() if (
                reset) else 60.0
        except DomainError:
            until = 60.0
        return min(MAX_WAIT_S, max(0.05, until))

    async def _catch_up(self, session: aiohttp.ClientSession, stream: str) -> None:
        since = self._ids.get(stream)
        if since is None:
            return   # a stream read for the first time starts live, not from the archive
        url: str | None = self._url(rest_path(stream)) + (
            f"{'&' if '?' in rest_path(stream) else '?'}min_id={since}&limit={PAGE}")
        for _ in range(MAX_PAGES):
            if url is None:
                return
            items, url = await self._get(session, url)
            if not items:
                return
            for item in sorted(items, key=lambda i: (len(str(i["id"])), str(i["id"]))):
                await self._item(stream, item)
        self.status.counts["gaps"] += 1
        self.status.error(f"{stream}: catch-up stopped after {MAX_PAGES} pages",
                          self._clock.now())

    async def _event(self, event: Mapping[str, Any]) -> None:
        kind, names = event.get("event"), event.get("stream") or []
        stream = names[0] if names else ""
        if stream == "hashtag" and len(names) > 1:
            stream = f"hashtag:{names[1]}"
        payload = event.get("payload")
        if kind == "delete" and payload:
            if await self._intake.delete(self.config.id, str(payload)):
                self.status.counts["deleted"] += 1
        elif kind in ("update", "notification") and isinstance(payload, str):
            await self._item(stream, json.loads(payload))

    async def _item(self, stream: str, item: Mapping[str, Any]) -> None:
        """A timeline status, or (for `user`) a notification carrying one."""
        status = item.get("status") if stream == "user" else item
        if stream != "user" or item.get("type") == "mention":
            await self._offer(status or {}, stream == "user")
        item_id = str(item.get("id", ""))
        if stream in self.config.streams and item_id.isdigit() and _newer(
                item_id, self._ids.get(stream)):
            self._ids[stream], self._dirty = item_id, True

    async def _offer(self, status: Mapping[str, Any], addressed: bool) -> None:
        post = to_post(self.config.id, status)
        if post is None:
            return
        self.status.counts["seen"] += 1
        self.status.last_event_at = post.posted_at
        try:
            kept = await self._intake.offer(post, self.config.interest, addressed=addressed)
        except DomainError as exc:
            self.status.error(f"{post.external_id}: {exc}", self._clock.now())
            return
        self.status.counted(kept)
