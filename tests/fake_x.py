"""An X API v2 on loopback: filtered-stream rules, the stream itself (newline-delimited
JSON with `\\r\\n` keep-alives, `includes` expansions and `matching_rules`), recent search
with `since_id` and `next_token` paging and `x-rate-limit-*` headers, and POST /2/tweets
for replies, shaped like X's documented responses. Tests can cut the stream, refuse
connections with an HTTP status, and throttle search."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BEARER = "x-app-bearer"
USER_TOKEN = "x-user-token"
ACCOUNT = "metpoliceuk"


def tweet(n: int, text: str, *, rule: str, lat: float | None = None, lon: float | None = None,
          mentions: tuple[str, ...] = (), retweet: bool = False) -> dict[str, Any]:
    """A stream message: the tweet, its expansions and the rule it matched."""
    tid = str(1_800_000_000_000_000_000 + n)
    data: dict[str, Any] = {
        "id": tid, "text": text, "author_id": str(7000 + n % 40), "lang": "en",
        "created_at": (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
        .replace("+00:00", "Z"),
        "edit_history_tweet_ids": [tid],
        "entities": {"mentions": [{"start": 0, "end": len(m) + 1, "username": m, "id": "1"}
                                  for m in mentions]}}
    if lat is not None:
        data["geo"] = {"coordinates": {"type": "Point", "coordinates": [lon, lat]}}
    if retweet:
        data["referenced_tweets"] = [{"type": "retweeted", "id": "1"}]
    return {"data": data, "includes": {"users": [{"id": data["author_id"],
                                                  "username": f"poster{n % 40}",
                                                  "name": "A poster"}]},
            "matching_rules": [{"id": "r", "tag": rule}], "_rule": rule}


class FakeX:
    """Holds rules and tweets; streams new tweets to every open stream."""

    def __init__(self, *, search_limit: int = 450) -> None:
        self.rules: dict[str, dict[str, str]] = {}   # id -> {id, value, tag}
        self.tweets: list[dict[str, Any]] = []
        self.search_limit, self._remaining = search_limit, search_limit
        self.refuse_with: list[int] = []    # statuses for the next stream connections
        self.connections = 0
        self.connect_times: list[float] = []
        self.searches: list[dict[str, str]] = []
        self.throttled = 0
        self.replies: list[dict[str, Any]] = []
        self._streams: list[asyncio.Queue[bytes | None]] = []
        self._rule_seq = 0
        app = web.Application()
        app.router.add_get("/2/tweets/search/stream/rules", self._get_rules)
        app.router.add_post("/2/tweets/search/stream/rules", self._post_rules)
        app.router.add_get("/2/tweets/search/stream", self._stream)
        app.router.add_get("/2/tweets/search/recent", self._search)
        app.router.add_post("/2/tweets", self._post_tweet)
        self.server = TestServer(app)

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakeX:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        await self.server.close()

    # -- what the test does ---------------------------------------------------------
    def publish(self, msg: dict[str, Any], *, live: bool = True) -> None:
        """A new tweet, searchable at once and streamed when `live`."""
        self.tweets.append(msg)
        if live and any(r["value"] == msg["_rule"] for r in self.rules.values()):
            line = json.dumps({k: v for k, v in msg.items() if k != "_rule"}).encode()
            for q in self._streams:
                q.put_nowait(line + b"\r\n")

    def cut(self) -> None:
        """Drop every open stream (as a network fault would)."""
        for q in self._streams:
            q.put_nowait(None)

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    # -- the API ----------------------------------------------------------------------
    def _auth(self, request: web.Request, token: str = BEARER) -> None:
        if request.headers.get("Authorization") != f"Bearer {token}":
            raise web.HTTPUnauthorized(text=json.dumps({"title": "Unauthorized", "type":
                                       "about:blank", "status": 401, "detail": "Unauthorized"}),
                                       content_type="application/problem+json")

    async def _get_rules(self, request: web.Request) -> web.Response:
        self._auth(request)
        rules = list(self.rules.values())
        return web.json_response({"data": rules, "meta": {"sent": "now", "result_count":
                                                          len(rules)}} if rules else
                                 {"meta": {"sent": "now", "result_count": 0}})

    async def _post_rules(self, request: web.Request) -> web.Response:
        self._auth(request)
        body = await request.json()
        created = []
        for rid in (body.get("delete") or {}).get("ids", []):
            self.rules.pop(rid, None)
        for rule in body.get("add") or []:
            self._rule_seq += 1
            rid = str(1_500_000 + self._rule_seq)
            self.rules[rid] = {"id": rid, "value": rule["value"], "tag": rule.get("tag", "")}
            created.append(self.rules[rid])
        return web.json_response({"data": created, "meta": {"sent": "now", "summary": {
            "created": len(created), "not_created": 0, "valid": len(created), "invalid": 0}}})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        self.connections += 1
        self.connect_times.append(time.monotonic())
        if self.refuse_with:
            status = self.refuse_with.pop(0)
            return web.json_response({"title": "Refused", "detail": f"status {status}",
                                      "status": status}, status=status)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        q: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._streams.append(q)
        try:
            while True:
                try:
                    line = await asyncio.wait_for(q.get(), 0.5)
                except TimeoutError:
                    line = b"\r\n"   # keep-alive
                if line is None:
                    break
                await resp.write(line)
        finally:
            self._streams.remove(q)
        with contextlib.suppress(ConnectionError):
            await resp.write_eof()
        return resp

    async def _search(self, request: web.Request) -> web.Response:
        self._auth(request)
        q = dict(request.query)
        self.searches.append(q)
        reset = str(int(time.time()) + 1)
        if self._remaining <= 0:
            self.throttled += 1
            self._remaining = self.search_limit
            return web.json_response({"title": "Too Many Requests", "status": 429}, status=429,
                                     headers={"x-rate-limit-remaining": "0",
                                              "x-rate-limit-reset": reset})
        self._remaining -= 1
        since = int(q.get("since_id", "0"))
        found = [m for m in self.tweets
                 if m["_rule"] == q["query"] and int(m["data"]["id"]) > since]
        found.sort(key=lambda m: -int(m["data"]["id"]))   # newest first, as X returns
        size = int(q.get("max_results", "10"))
        start = int(q.get("next_token", "0"))
        page = found[start:start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0]["data"]["id"], page[-1]["data"]["id"]
        if start + size < len(found):
            meta["next_token"] = str(start + size)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [m["data"] for m in page]
            body["includes"] = {"users": [u for m in page for u in m["includes"]["users"]]}
        return web.json_response(body, headers={"x-rate-limit-remaining": str(self._remaining),
                                                "x-rate-limit-reset": reset})

    async def _post_tweet(self, request: web.Request) -> web.Response:
        self._auth(request, USER_TOKEN)
        body = await request.json()
        parent = body.get("reply", {}).get("in_reply_to_tweet_id")
        original = next((m for m in self.tweets if m["data"]["id"] == parent), None)
        mentioned = original is not None and any(
            x["username"].lower() == ACCOUNT for x in original["data"]["entities"]["mentions"])
        if not mentioned:
            return web.json_response({
                "title": "Forbidden", "status": 403, "type": "about:blank",
                "detail": "Reply to this conversation is not allowed because you have not "
                          "been mentioned or otherwise engaged by the author of the post you "
                          "are replying to."}, status=403)
        tid = str(1_900_000_000_000_000_000 + len(self.replies))
        self.replies.append({"id": tid, **body})
        return web.json_response({"data": {"id": tid, "text": body["text"],
                                           "edit_history_tweet_ids": [tid]}}, status=201)
