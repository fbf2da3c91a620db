"""A fake FCM v1 server on 127.0.0.1 that answers like FCM, errors included.

Per-token scripts say how to answer each successive send to that token: "ok",
"unregistered" (404 UNREGISTERED), "503", "429:<retry-after seconds>", "invalid" (400) or
"hang:<seconds>" (answer ok only after that long: a device whose sends time out) or "401"
(the OAuth token is expired or revoked).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


@dataclass
class Received:
    """One request the fake got."""

    token: str
    message: dict[str, Any]
    at: float
    authorization: str


@dataclass
class FakeFcm:
    """State of the fake: scripts, what was received, how it answered."""

    scripts: dict[str, list[str]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        return app

    def to(self, token: str) -> list[Received]:
        return [r for r in self.received if r.token == token]

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        message = body["message"]
        # firebase-admin 7.7 sends `fid`; older SDKs and the REST docs use `token`.
        token = message.get("fid") or message.get("token")
        self.received.append(Received(token, message, time.monotonic(),
                                      request.headers.get("Authorization", "")))
        script = self.scripts.get(token, [])
        answer = script.pop(0) if script else "ok"
        if answer.startswith("hang:"):
            await asyncio.sleep(float(answer.split(":", 1)[1]))
            answer = "ok"
        if answer == "ok":
            project = request.match_info["project"]
            return web.json_response({"name": f"projects/{project}/messages/{next(self._ids)}"})
        if answer == "unregistered":
            return self._error(404, "NOT_FOUND", "Requested entity was not found.",
                               "UNREGISTERED")
        if answer == "invalid":
            return self._error(400, "INVALID_ARGUMENT", "The registration token is not valid",
                               "INVALID_ARGUMENT")
        if answer == "401":
            return self._error(401, "UNAUTHENTICATED", "Request had invalid authentication "
                               "credentials.", "THIRD_PARTY_AUTH_ERROR")
        if answer == "503":
            return self._error(503, "UNAVAILABLE", "The service is currently unavailable.",
                               "UNAVAILABLE")
        if answer.startswith("429"):
            retry_after = answer.split(":", 1)[1] if ":" in answer else "1"
            return self._error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED",
                               headers={"Retry-After": retry_after})
        raise AssertionError(f"unknown script step {answer!r}")

    def _error(self, status: int, grpc: str, message: str, fcm_code: str,
               headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"error": {
            "code": status, "status": grpc, "message": message,
            "details": [{"@type": FCM_ERROR, "errorCode": fcm_code}]}},
            status=status, headers=headers)
