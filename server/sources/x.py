"""X (Twitter) API v2: the filtered stream, its rules kept in sync with the sources file,
and catch-up with recent search from the last id seen.

Never miss: on every connection the source first makes the app's rules match the file
(only rules tagged `bluelight:<source id>` are touched), opens the stream, and then, while
the stream is read, searches each rule from the newest id it has seen (`since_id`, paging
with `next_token`, honouring `x-rate-limit-*`); anything seen twice is absorbed by
(source, external_id). The cursor (the newest tweet id) is saved at least every second and
at shutdown. Reconnects back off as X documents: linearly after network errors,
exponentially after HTTP errors, and from one minute, doubling, after a 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp

from ..domain.errors import DomainError
from ..domain.times import parse_time
from ..ports import Clock, CursorStore
from ..services.intake import InboundPost, Intake, Interest
from .status import SourceStatus, State
from .supervisor import SourceFailed

log = logging.getLogger(__name__)
SAVE_EVERY_S = 1.0
MAX_PAGES = 100        # catch-up beyond this (10,000 posts a rule) is recorded as a gap
MAX_WAIT_S = 900.0     # never sleep longer than this for a rate-limit reset
SMALL_PLACE_DEG = 0.01  # a place this small (about 1 km) is taken as the post's location
Box = tuple[float, float, float, float]   # west, south, east, north
TWEET_FIELDS = "created_at,lang,geo,author_id,entities,referenced_tweets"
PARAMS = {"tweet.fields": TWEET_FIELDS, "expansions": "author_id,geo.place_id",
          "user.fields": "username", "place.fields": "geo,full_name"}


class XHttpError(Exception):
    """X answered with an HTTP error (the backoff depends on the status)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"X answered {status}: {detail}")
        self.status = status


@dataclass(frozen=True)
class XConfig:
    """One X app's filtered stream: the rules to keep, and where the API is."""

    id: str
    token: str
    rules: tuple[str, ...]
    base_url: str = "https://api.x.com"
    reply_token: str | None = None    # an OAuth 2.0 user token with tweet.write, to reply
    interest: Interest = field(default_factory=Interest)
    ping_s: float = 20.0
    silence_s: float = 30.0           # X sends a keep-alive every 20 s
    backoff: tuple[float, float] = (1.0, 60.0)
    reply_per_hour: int = 100         # replies this account may send in any rolling hour
    backoff_scale: float = 1.0        # multiplies X's schedule (drills and tests shorten it)

    @property
    def tag(self) -> str:
        return f"bluelight:{self.id}"


class XBackoff:
    """X's documented reconnect schedule; `reset()` after a connection that went live."""

    def __init__(self, scale: float = 1.0) -> None:
        self._last: tuple[str, float] | None = None
        self.scale = scale
        self.longest = 320.0 * scale   # after a refused token (SourceFailed), retry this seldom

    def reset(self) -> None:
        self._last = None

    def delay(self, exc: BaseException | None) -> float:
        kind = "network"
        if isinstance(exc, XHttpError):
            kind = "429" if exc.status == 429 else "http"
        first, step, cap = {"network": (0.25, 0.25, 16.0), "http": (5.0, 0.0, 320.0),
                            "429": (60.0, 0.0, 15 * 60.0)}[kind]
        if self._last is None or self._last[0] != kind:
            wait = first
        else:
            wait = self._last[1] + step if step else self._last[1] * 2   # unscaled
        wait = min(wait, cap)
        self._last = (kind, wait)
        return wait * self.scale


def _newer(a: str, b: str | None) -> bool:
    """Tweet ids are decimal snowflakes: longer is newer, then by digits."""
    return b is None or (len(a), a) > (len(b), b)


def _location(tweet: Mapping[str, Any], places: Mapping[str, Any],
              ) -> tuple[tuple[float, float] | None, str | None, Box | None]:
    """The tweet's coordinates if it has them (or a place small enough to stand for them),
    its place's name, and the place's box when that is too big to be a location (a city):
    far from every neighbourhood, it caps the post at review."""
    geo = tweet.get("geo") or {}
    point = geo.get("coordinates") or {}
    coords = point.get("coordinates") if point.get("type") == "Point" else None
    place = places.get(str(geo.get("place_id", ""))) or {}
    name = str(place["full_name"]) if place.get("full_name") else None
    if isinstance(coords, list) and len(coords) == 2:
        return (float(coords[1]), float(coords[0])), name, None
    bbox = (place.get("geo") or {}).get("bbox")
    if isinstance(bbox, list) and len(bbox) == 4:
        w, s, e, n = (float(v) for v in bbox)
        if 0 <= e - w <= SMALL_PLACE_DEG and n - s <= SMALL_PLACE_DEG:
            return ((s + n) / 2, (w + e) / 2), name, None
        if -180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90:
            return None, name, (w, s, e, n)
    return None, name, None


def to_post(source: str, tweet: Mapping[str, Any],
            includes: Mapping[str, Any]) -> InboundPost | None:
    """A tweet with its expansions as an inbound post."""
    if not tweet.get("id") or not isinstance(tweet.get("text"), str):
        return None
    users = {str(u.get("id")): u for u in includes.get("users") or ()}
    places = {str(p.get("id")): p for p in includes.get("places") or ()}
    try:
        posted = parse_time(str(tweet.get("created_at")), "created_at")
    except DomainError:
        posted = datetime.now(UTC)
    context: dict[str, Any] = {}
    for ref in tweet.get("referenced_tweets") or ():
        if ref.get("type") == "retweeted":
            context["repost"] = True
        elif ref.get("type") == "quoted":
            context["quote"] = True
        elif ref.get("type") == "replied_to":
            context["reply_to"] = str(ref.get("id"))[:2048]
    entities = tweet.get("entities") or {}
    links = [str(u["expanded_url"])[:2048] for u in entities.get("urls") or ()
             if u.get("expanded_url")]
    if links:
        context["links"] = links[:10]
    username = (users.get(str(tweet.get("author_id"))) or {}).get("username")
    where, place, box = _location(tweet, places)
    return InboundPost(
        source=source, external_id=str(tweet["id"]), text=tweet["text"], posted_at=posted,
        author=username, lang=tweet.get("lang") if tweet.get("lang") != "und" else None,
        url=f"https://x.com/{username or 'i'}/status/{tweet['id']}",
        lat=where[0] if where else None, lon=where[1] if where else None,
        mentions=tuple(str(m.get("username", "")) for m in entities.get("mentions") or ()),
        tags=tuple(str(h.get("tag", "")) for h in entities.get("hashtags") or ()),
        context=context, place=place, place_bbox=box)


class XSource:
    """Reads one X app's filtered stream; the supervisor reconnects it."""

    def __init__(self, config: XConfig, intake: Intake, cursors: CursorStore,
                 clock: Clock) -> None:
        self.config, self._intake, self._cursors, self._clock = config, intake, cursors, clock
        self.status = SourceStatus(config.id, "x")
        self.backoff = XBackoff(config.backoff_scale)
        self._since: str | None = None
        self._loaded = self._dirty = False
        # The cursor may only move once this connection's catch-up is complete: the stream
        # runs ahead of the search, and a cursor saved from it would skip what lies between.
        self._caught_up = False
        self._saved_at = 0.0
        self.rate_limited = 0

    async def _load(self) -> None:
        if not self._loaded:
            self._since = await self._cursors.get_cursor(self.config.id)
            self.status.cursor, self._loaded = self._since, True

    async def flush(self) -> None:
        """Persist the newest id if it moved."""
        if self._dirty and self._caught_up and self._since is not None:
            await self._cursors.put_cursor(self.config.id, self._since, self._clock.now())
            self.status.cursor, self._dirty = self._since, False
        self._saved_at = self._clock.now().timestamp()

    def _url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return self.config.base_url.rstrip("/") + path + query

    async def run(self) -> None:
        """One connection: sync the rules, open the stream, catch up, read."""
        await self._load()
        self._caught_up = False
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10,
                                        sock_read=self.config.silence_s)
        headers = {"Authorization": f"Bearer {self.config.token}"}
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            await self.sync_rules(session)
            async with session.get(self._url("/2/tweets/search/stream", PARAMS)) as resp:
                await _check(resp)
                since = self._since   # everything after this is caught up by search
                self.status.state = State.CATCHING_UP
                catch_up = asyncio.create_task(self._catch_up(session, since),
                                               name=f"x-catch-up-{self.config.id}")
                try:
                    await self._read(resp, catch_up)
                finally:
                    catch_up.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await catch_up
            await self.flush()

    async def _read(self, resp: aiohttp.ClientResponse, catch_up: asyncio.Task[None]) -> None:
        while True:
            line = await resp.content.readline()
            if not line:
                return   # X closed the stream: reconnect
            if catch_up.done() and not catch_up.cancelled() and catch_up.exception():
                catch_up.result()   # raise what stopped the catch-up: reconnect
            if line.strip():   # a bare \r\n is X's keep-alive
                await self._message(json.loads(line))
            if self._clock.now().timestamp() - self._saved_at >= SAVE_EVERY_S:
                await self.flush()

    async def _message(self, msg: Mapping[str, Any]) -> None:
        if "data" in msg:
            await self._offer(msg["data"], msg.get("includes") or {})
        elif msg.get("errors"):
            first = msg["errors"][0]
            raise ConnectionError(f"stream error: {first.get('title') or first}")

    async def sync_rules(self, session: aiohttp.ClientSession) -> None:
        """Make this source's rules on X the ones in the file (others' rules are left)."""
        data = await self._get(session, self._url("/2/tweets/search/stream/rules"))
        ours = {r["value"]: r["id"] for r in data.get("data") or ()
                if r.get("tag") == self.config.tag}
        stale = [rid for value, rid in ours.items() if value not in self.config.rules]
        missing = [v for v in self.config.rules if v not in ours]
        url = self._url("/2/tweets/search/stream/rules")
        if stale:
            await self._post(session, url, {"delete": {"ids": stale}})
        if missing:
            await self._post(session, url, {"add": [{"value": v, "tag": self.config.tag}
                                                    for v in missing]})

    async def _post(self, session: aiohttp.ClientSession, url: str, body: Any) -> None:
        async with session.post(url, json=body) as resp:
            await _check(resp)
            data = await resp.json()
        errors = data.get("errors") or []
        if errors:
            raise SourceFailed(f"X refused the rules: {errors[0].get('title', errors[0])}")

    async def _get(self, session: aiohttp.ClientSession, url: str) -> Any:
        """One GET's JSON, waiting out rate limits."""
        while True:
            async with session.get(url) as resp:
                wait = self._rate_wait(resp)
                if resp.status != 429:
                    await _check(resp)
                    return await resp.json()
            self.rate_limited += 1
            log.info("source %s: rate limited, waiting %.1f s", self.config.id, wait)
            await asyncio.sleep(wait)

    def _rate_wait(self, resp: aiohttp.ClientResponse) -> float:
        remaining = resp.headers.get("x-rate-limit-remaining")
        if resp.status != 429 and (remaining is None or int(remaining) > 0):
            return 0.0
        reset = resp.headers.get("x-rate-limit-reset")
        try:
            until = float(reset) - self._clock.now().timestamp() if reset else 60.0
        except ValueError:
            until = 60.0
        return min(MAX_WAIT_S, max(0.05, until))

    async def _catch_up(self, session: aiohttp.ClientSession, since: str | None) -> None:
        if since is not None:   # read for the first time: start live, not from the archive
            for rule in self.config.rules:
                await self._search(session, rule, since)
        self._caught_up = True
        self.status.state = State.LIVE

    async def _search(self, session: aiohttp.ClientSession, rule: str, since: str) -> None:
        params = {"query": rule, "since_id": since, "max_results": "100", **PARAMS}
        for _ in range(MAX_PAGES):
            data = await self._get(session, self._url("/2/tweets/search/recent", params))
            for tweet in reversed(data.get("data") or []):   # newest first: turn round
                await self._offer(tweet, data.get("includes") or {})
            token = (data.get("meta") or {}).get("next_token")
            if not token:
                break
            params["next_token"] = token
        else:
            self.status.counts["gaps"] += 1
            self.status.error(f"{rule}: catch-up stopped after {MAX_PAGES} pages",
                              self._clock.now())

    async def _offer(self, tweet: Mapping[str, Any], includes: Mapping[str, Any]) -> None:
        post = to_post(self.config.id, tweet, includes)
        if post is None:
            return
        self.status.counts["seen"] += 1
        self.status.last_event_at = post.posted_at
        try:
            kept = await self._intake.offer(post, self.config.interest)
        except DomainError as exc:
            self.status.error(f"{post.external_id}: {exc}", self._clock.now())
            return
        self.status.counted(kept)
        if post.external_id.isdigit() and _newer(post.external_id, self._since):
            self._since, self._dirty = post.external_id, True


async def _check(resp: aiohttp.ClientResponse) -> None:
    """Raise what an error answer means: a refused token fails the source, others retry."""
    if resp.status < 400:
        return
    try:
        detail = str((await resp.json()).get("detail") or resp.reason)
    except (aiohttp.ContentTypeError, ValueError, AttributeError):
        detail = str(resp.reason)
    if resp.status in (401, 403):
        raise SourceFailed(f"X refused the bearer token ({resp.status}): {detail}")
    raise XHttpError(resp.status, detail)


def rules_of(raw: Sequence[Any]) -> tuple[str, ...]:
    """Rules as the file gives them (strings, 1-1024 characters each), de-duplicated."""
    return tuple(dict.fromkeys(str(r) for r in raw))
