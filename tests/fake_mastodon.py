"""A Mastodon instance on loopback: the streaming API over a websocket, timelines and
notifications over REST with `Link` paging (`max_id` / `min_id`), `X-RateLimit-*` headers
and 429s, and bearer-token auth, shaped like Mastodon's documented responses."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "masto-test-token"


def status(n: int, html: str, *, tags: tuple[str, ...] = (), mentions: tuple[str, ...] = (),
           boost_of: dict[str, Any] | None = None, local: bool = True) -> dict[str, Any]:
    """A Status entity (the fields Bluelight reads, and a few it does not)."""
    sid = str(109_000_000_000_000_000 + n)
    acct = f"user{n % 50}" if local else f"user{n % 50}@elsewhere.example"
    return {
        "id": sid, "created_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "in_reply_to_id": None, "sensitive": False, "spoiler_text": "", "visibility": "public",
        "language": "en", "uri": f"https://masto.test/users/{acct}/statuses/{sid}",
        "url": f"https://masto.test/@{acct}/{sid}", "content": html, "reblog": boost_of,
        "account": {"id": str(n % 50), "username": acct.split("@")[0], "acct": acct},
        "mentions": [{"id": "9", "username": m.split("@")[0], "acct": m,
                      "url": f"https://masto.test/@{m}"} for m in mentions],
        "tags": [{"name": t, "url": f"https://masto.test/tags/{t}"} for t in tags],
        "card": None, "_local": local}


class FakeMastodon:
    """Holds statuses and mention notifications; serves them and streams new ones."""

    def __init__(self, *, rate_limit: int = 300, reset_s: float = 0.2) -> None:
        self.statuses: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.rate_limit, self.reset_s = rate_limit, reset_s
        self._remaining, self._reset_at = rate_limit, datetime.now(UTC)
        self.requests: list[str] = []
        self.throttled = 0
        self._sockets: dict[web.WebSocketResponse, set[str]] = {}
        app = web.Application()
        app.router.add_get("/api/v1/timelines/public", self._public)
        app.router.add_get("/api/v1/timelines/tag/{tag}", self._tag)
        app.router.add_get("/api/v1/notifications", self._notifications)
        app.router.add_get("/api/v1/streaming", self._streaming)
        app.router.add_post("/api/v1/statuses", self._post_status)
        self.posted: dict[str, dict[str, Any]] = {}   # by Idempotency-Key
        self.refuse_posts = False
        self.server = TestServer(app)

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakeMastodon:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        await self.server.close()

    # -- what the test does ---------------------------------------------------------
    async def publish(self, st: dict[str, Any], *, live: bool = True) -> None:
        """A new status; streamed to subscribers when `live`."""
        self.statuses.append(st)
        streams = {"public"} | ({"public:local"} if st["_local"] else set()) | {
            f"hashtag:{t['name'].lower()}" for t in st["tags"]}
        note = None
        if any(m["acct"] == "metpolice" for m in st["mentions"]):
            note = {"id": str(500_000 + len(self.notifications)), "type": "mention",
                    "created_at": st["created_at"], "account": st["account"], "status": st}
            self.notifications.append(note)
        if not live:
            return
        for ws, subs in list(self._sockets.items()):
            for name in streams & subs:
                tag = name.split(":", 1)[1] if name.startswith("hashtag:") else None
                await self._send(ws, ["hashtag", tag] if tag else [name], "update", st)
            if note is not None and "user" in subs:
                await self._send(ws, ["user"], "notification", note)

    async def delete(self, sid: str) -> None:
        """The author deleted a status."""
        for ws in list(self._sockets):
            with contextlib.suppress(ConnectionError):
                await ws.send_str(json.dumps({"stream": ["public:local"], "event": "delete",
                                              "payload": sid}))

    async def drop_connections(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    # -- the API ---------------------------------------------------------------------
    @staticmethod
    async def _send(ws: web.WebSocketResponse, stream: list[str], event: str,
                    payload: dict[str, Any]) -> None:
        body = {k: v for k, v in payload.items() if not k.startswith("_")}
        with contextlib.suppress(ConnectionError):
            await ws.send_str(json.dumps({"stream": stream, "event": event,
                                          "payload": json.dumps(body)}))

    def _auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            raise web.HTTPUnauthorized(text='{"error":"The access token is invalid"}',
                                       content_type="application/json")

    def _limit(self) -> dict[str, str]:
        now = datetime.now(UTC)
        if now >= self._reset_at:
            self._remaining = self.rate_limit
            self._reset_at = now + timedelta(seconds=self.reset_s)
        self._remaining -= 1
        return {"X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(max(0, self._remaining)),
                "X-RateLimit-Reset": self._reset_at.isoformat()}

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        self._auth(request)
        self.requests.append(request.path_qs)
        headers = self._limit()
        if self._remaining < 0:
            self.throttled += 1
            return web.json_response({"error": "Too many requests"}, status=429,
                                     headers=headers)
        q = request.query
        limit = min(int(q.get("limit", "20")), 40)
        key = lambda i: int(i["id"])  # noqa: E731
        chosen = sorted(items, key=key)
        if "min_id" in q:   # the page just after min_id, newest first
            chosen = [i for i in chosen if key(i) > int(q["min_id"])][:limit]
        else:
            if "max_id" in q:
                chosen = [i for i in chosen if key(i) < int(q["max_id"])]
            chosen = chosen[-limit:]
        chosen.reverse()
        if chosen:
            base = request.url.with_query({k: v for k, v in q.items()
                                           if k not in ("min_id", "max_id")})
            headers["Link"] = (f'<{base.update_query(max_id=chosen[-1]["id"])}>; rel="next", '
                               f'<{base.update_query(min_id=chosen[0]["id"])}>; rel="prev"')
        body = [{k: v for k, v in i.items() if not k.startswith("_")} for i in chosen]
        return web.json_response(body, headers=headers)

    async def _public(self, request: web.Request) -> web.Response:
        local = request.query.get("local") == "true"
        return self._page(request, [s for s in self.statuses if s["_local"] or not local])

    async def _tag(self, request: web.Request) -> web.Response:
        tag = request.match_info["tag"].lower()
        return self._page(request, [s for s in self.statuses
                                    if tag in {t["name"].lower() for t in s["tags"]}])

    async def _notifications(self, request: web.Request) -> web.Response:
        return self._page(request, self.notifications)

    async def _post_status(self, request: web.Request) -> web.Response:
        self._auth(request)
        if self.refuse_posts:
            return web.json_response({"error": "Validation failed: Text can't be blank"},
                                     status=422)
        body = await request.json()
        key = request.headers.get("Idempotency-Key", "")
        if key not in self.posted:   # Mastodon answers a repeated key with the first status
            self.posted[key] = {**status(900 + len(self.posted), body["status"]),
                                "in_reply_to_id": body.get("in_reply_to_id")}
        return web.json_response({k: v for k, v in self.posted[key].items()
                                  if not k.startswith("_")})

    async def _streaming(self, request: web.Request) -> web.WebSocketResponse:
        self._auth(request)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        subs: set[str] = set()
        self._sockets[ws] = subs
        try:
            async for msg in ws:
                data = json.loads(msg.data)
                if data.get("type") == "subscribe":
                    name = data["stream"]
                    subs.add(f"hashtag:{data['tag'].lower()}" if name == "hashtag" else name)
        finally:
            self._sockets.pop(ws, None)
        await asyncio.sleep(0)
        return ws
