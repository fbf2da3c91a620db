"""A Jetstream v1 server on loopback: JSON frames over a websocket, shaped like the frames
bluesky-social/jetstream captured from the real service (internal/subscribe/testdata).

It honours `wantedCollections` and the inclusive `cursor` (time_us), starts at its oldest
retained event when asked for an older one (as v1 does, silently), and can cut every
connection after a few hundred frames, cleanly or by dropping the TCP connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

T0_US = int(time.time() - 600) * 1_000_000   # ten minutes ago: posts are fresh, not stale


def post_frame(n: int, text: str, *, time_us: int | None = None, did: str | None = None,
               facets: list[dict[str, Any]] | None = None,
               reply_to: str | None = None) -> dict[str, Any]:
    """A commit creating an app.bsky.feed.post record."""
    stamp = time_us if time_us is not None else T0_US + n * 1000
    created = datetime.fromtimestamp(stamp / 1e6, UTC).isoformat().replace("+00:00", "Z")
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": created,
                              "langs": ["en"], "text": text}
    if facets:
        record["facets"] = facets
    if reply_to:
        record["reply"] = {"parent": {"cid": "bafyparent", "uri": reply_to},
                           "root": {"cid": "bafyparent", "uri": reply_to}}
    return {"did": did or f"did:plc:user{n % 97:05d}", "time_us": stamp, "kind": "commit",
            "commit": {"rev": f"3rev{n:09d}", "operation": "create",
                       "collection": "app.bsky.feed.post", "rkey": f"3k{n:011d}",
                       "record": record, "cid": f"bafycid{n:09d}"}}


def delete_frame(n: int, of: dict[str, Any], time_us: int) -> dict[str, Any]:
    """A commit deleting the post `of`."""
    return {"did": of["did"], "time_us": time_us, "kind": "commit",
            "commit": {"rev": f"3rev{n:09d}", "operation": "delete",
                       "collection": "app.bsky.feed.post", "rkey": of["commit"]["rkey"]}}


def other_frames(time_us: int) -> list[dict[str, Any]]:
    """Frames a post subscriber must ignore: a like, an identity and an account event."""
    return [
        {"did": "did:plc:liker", "time_us": time_us, "kind": "commit", "commit": {
            "rev": "3like", "operation": "create", "collection": "app.bsky.feed.like",
            "rkey": "3likekey", "record": {"$type": "app.bsky.feed.like",
                                           "createdAt": "2026-05-25T14:23:28Z"}}},
        {"did": "did:plc:who", "time_us": time_us + 1, "kind": "identity",
         "identity": {"did": "did:plc:who", "seq": 1, "time": "2026-05-25T14:23:29.950Z"}},
        {"did": "did:plc:who", "time_us": time_us + 2, "kind": "account",
         "account": {"active": True, "did": "did:plc:who", "seq": 2,
                     "time": "2026-05-25T14:23:29.950Z"}}]


class FakeJetstream:
    """Serves `frames` (sorted by time_us) at /subscribe."""

    def __init__(self, frames: list[dict[str, Any]], *, cut_every: int = 0,
                 seed: int = 0) -> None:
        self.frames = frames
        self.floor = 0                     # index of the oldest event still retained
        self.cut_every = cut_every         # close each connection after ~this many frames
        self.cursors: list[str | None] = []
        self.sent = 0
        self._rng = random.Random(seed)
        self._more = asyncio.Event()
        self._sockets: set[web.WebSocketResponse] = set()
        self._closing = False
        app = web.Application()
        app.router.add_get("/subscribe", self._subscribe)
        self.server = TestServer(app)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/subscribe")).replace("http://", "ws://")

    async def __aenter__(self) -> FakeJetstream:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        self._more.set()
        for ws in list(self._sockets):
            await ws.close()
        await self.server.close()

    def publish(self, frame: dict[str, Any]) -> None:
        """A new live event."""
        self.frames.append(frame)
        self._more.set()

    def _start(self, cursor: str | None) -> int:
        if cursor is None:
            return self.floor
        want = int(cursor)
        for i in range(self.floor, len(self.frames)):
            if self.frames[i]["time_us"] >= want:
                return i
        return len(self.frames)

    async def _subscribe(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        cursor = request.query.get("cursor")
        self.cursors.append(cursor)
        wanted = set(request.query.getall("wantedCollections", []))
        i = self._start(cursor)
        reader = asyncio.create_task(self._read(ws))   # answers the client's pings
        self._sockets.add(ws)
        try:
            await self._send(request, ws, wanted, i)
        finally:
            self._sockets.discard(ws)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        return ws

    async def _read(self, ws: web.WebSocketResponse) -> None:
        async for _ in ws:
            pass

    async def _send(self, request: web.Request, ws: web.WebSocketResponse, wanted: set[str],
                    i: int) -> None:
        budget = (self.cut_every + self._rng.randint(-self.cut_every // 3, self.cut_every // 3)
                  if self.cut_every else -1)
        while not ws.closed and not self._closing:
            if i >= len(self.frames):
                self._more.clear()
                await self._more.wait()
                continue
            frame = self.frames[i]
            i += 1
            if wanted and frame.get("kind") == "commit" and (
                    frame["commit"]["collection"] not in wanted):
                continue
            await ws.send_str(json.dumps(frame))
            self.sent += 1
            budget -= 1
            if budget == 0:
                if self._rng.random() < 0.5:
                    await ws.close()
                elif request.transport is not None:
                    request.transport.abort()   # the connection drops mid-stream
                break
