"""Replies on Bluesky: com.atproto.repo.createRecord with reply.root and reply.parent.

The session is created once with the app password and kept with its refresh token
(createSession is limited to a few a day). The record key is derived from the reply's id,
so a retry of the same reply is refused by the PDS as a duplicate and then found, never
posted twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import aiohttp

from ...domain.errors import ReplyFailed
from ...domain.records import Report

TIMEOUT = aiohttp.ClientTimeout(total=15)
POST = "app.bsky.feed.post"
_URI = re.compile(r"^at://([^/]+)/app\.bsky\.feed\.post/([^/]+)$")


def record_key(key: str) -> str:
    """A valid record key from a reply id (letters, digits and . _ : ~ -)."""
    return re.sub(r"[^A-Za-z0-9._:~-]", "-", key)[:512]


class BlueskyReplier:
    """Posts as the force's account through its PDS."""

    def __init__(self, pds_url: str, handle: str, app_password: str) -> None:
        self._pds, self._handle, self._password = pds_url.rstrip("/"), handle, app_password
        self._session: aiohttp.ClientSession | None = None
        self._access: str | None = None
        self._refresh: str | None = None
        self._did: str | None = None
        self.sessions_created = 0

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def _xrpc(self, method: str, nsid: str, *, token: str | None = None,
                    body: Any = None, params: dict[str, str] | None = None
                    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self._http().request(method, f"{self._pds}/xrpc/{nsid}", json=body,
                                        params=params, headers=headers) as r:
            data = await r.json(content_type=None)
            return r.status, data if isinstance(data, dict) else {}

    async def _login(self) -> None:
        if self._refresh is not None:
            status, data = await self._xrpc("POST", "com.atproto.server.refreshSession",
                                             token=self._refresh)
            if status == 200:
                self._access, self._refresh = data["accessJwt"], data["refreshJwt"]
                return
        status, data = await self._xrpc("POST", "com.atproto.server.createSession", body={
            "identifier": self._handle, "password": self._password})
        if status != 200:
            raise ReplyFailed(f"Bluesky refused the app password: {data.get('message')}")
        self.sessions_created += 1
        self._access, self._refresh, self._did = (data["accessJwt"], data["refreshJwt"],
                                                  data["did"])

    async def _authed(self, method: str, nsid: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        if self._access is None:
            await self._login()
        status, data = await self._xrpc(method, nsid, token=self._access, **kw)
        if status in (400, 401) and data.get("error") in ("ExpiredToken", "InvalidToken"):
            await self._login()
            status, data = await self._xrpc(method, nsid, token=self._access, **kw)
        return status, data

    async def _strong_ref(self, uri: str) -> tuple[dict[str, str], dict[str, str]]:
        """(parent, root) references for a reply to the post at `uri`."""
        m = _URI.match(uri)
        if m is None:
            raise ReplyFailed(f"{uri!r} is not a Bluesky post")
        status, data = await self._authed("GET", "com.atproto.repo.getRecord", params={
            "repo": m.group(1), "collection": POST, "rkey": m.group(2)})
        if status != 200:
            raise ReplyFailed(f"the post is gone ({data.get('message', status)})")
        parent = {"uri": data["uri"], "cid": data["cid"]}
        root = ((data.get("value") or {}).get("reply") or {}).get("root") or parent
        return parent, {"uri": root["uri"], "cid": root["cid"]}

    async def send(self, report: Report, text: str, key: str) -> str:
        """Reply in the post's thread."""
        try:
            parent, root = await self._strong_ref(report.external_id)
            rkey = record_key(key)
            record = {"$type": POST, "text": text[:300],
                      "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                      "reply": {"root": root, "parent": parent}}
            status, data = await self._authed("POST", "com.atproto.repo.createRecord", body={
                "repo": self._did, "collection": POST, "rkey": rkey, "record": record})
            if status == 200:
                return str(data["uri"])
            # Sent before (a retry): the record is there under our key.
            status2, found = await self._authed("GET", "com.atproto.repo.getRecord", params={
                "repo": self._did or "", "collection": POST, "rkey": rkey})
            if status2 == 200:
                return str(found["uri"])
            raise ReplyFailed(f"Bluesky refused the reply: {data.get('message', status)}")
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            raise ReplyFailed(f"Bluesky could not be reached: {exc!r}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
