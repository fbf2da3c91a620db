"""A Bluesky PDS on loopback: the XRPC calls a reply needs (createSession, refreshSession,
getRecord, createRecord), with Bluesky's JSON shapes and error envelopes."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

FORCE_DID = "did:plc:forceaccount"
PASSWORD = "abcd-efgh-ijkl-mnop"


class FakePds:
    """Holds records by (repo, rkey); the force's account logs in with an app password."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.sessions = 0
        app = web.Application()
        for nsid, handler in (("com.atproto.server.createSession", self._create_session),
                              ("com.atproto.server.refreshSession", self._refresh),
                              ("com.atproto.repo.createRecord", self._create_record)):
            app.router.add_post(f"/xrpc/{nsid}", handler)
        app.router.add_get("/xrpc/com.atproto.repo.getRecord", self._get_record)
        self.server = TestServer(app)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakePds:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    def add_post(self, did: str, rkey: str, cid: str, record: dict[str, Any]) -> None:
        self.records[(did, rkey)] = {"uri": f"at://{did}/app.bsky.feed.post/{rkey}",
                                     "cid": cid, "value": record}

    @staticmethod
    def _error(status: int, error: str, message: str) -> web.Response:
        return web.json_response({"error": error, "message": message}, status=status)

    def _authed(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == "Bearer access-token"

    async def _create_session(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("password") != PASSWORD:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.sessions += 1
        return web.json_response({"did": FORCE_DID, "handle": body["identifier"],
                                  "accessJwt": "access-token", "refreshJwt": "refresh-token"})

    async def _refresh(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer refresh-token":
            return self._error(400, "ExpiredToken", "Token has expired")
        return web.json_response({"did": FORCE_DID, "accessJwt": "access-token",
                                  "refreshJwt": "refresh-token"})

    async def _get_record(self, request: web.Request) -> web.Response:
        q = request.query
        found = self.records.get((q["repo"], q["rkey"]))
        if found is None:
            return self._error(400, "RecordNotFound", f"Could not locate record: {q['rkey']}")
        return web.json_response(found)

    async def _create_record(self, request: web.Request) -> web.Response:
        if not self._authed(request):
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        body = await request.json()
        key = (body["repo"], body["rkey"])
        if key in self.records:
            return self._error(400, "InvalidRequest", "Record already exists")
        cid = f"bafyreply{len(self.created)}"
        self.add_post(body["repo"], body["rkey"], cid, body["record"])
        self.created.append(body)
        return web.json_response({"uri": self.records[key]["uri"], "cid": cid})
