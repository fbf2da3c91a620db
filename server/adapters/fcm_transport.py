"""The HTTP transport under firebase-admin's FCM sends: aiohttp in place of the SDK's httpx
client. The SDK still builds each message, its URL and headers, and reads every answer and
error; this only carries the request.

Why: the SDK's httpx client cost about 3 ms of the event loop per push (its connection pool,
anyio streams and auth flow), a third of the loop's time under 200 posts a second; and its
auth flow refreshes an expired OAuth token synchronously, on the event loop: a blocking HTTPS
call about once an hour. Here the token is refreshed in a worker thread, one refresh at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
import orjson
from google.auth import credentials as google_credentials
from google.auth.transport import requests as google_requests


class AiohttpFcmClient:
    """What firebase-admin's messaging service calls on its `_async_client`: `request`, which
    answers an httpx.Response or raises an httpx error, so the SDK maps errors as it always
    does, and `aclose`."""

    base_url = ""   # the SDK passes whole URLs

    def __init__(self, credential: google_credentials.Credentials, *, timeout_s: float,
                 headers: Mapping[str, str] | None = None) -> None:
        self._credential = credential
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None
        self._refresh_lock: asyncio.Lock | None = None

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers, **kwargs.get("headers", {})}
        body = orjson.dumps(kwargs["json"]) if "json" in kwargs else None
        if body is not None:
            headers["Content-Type"] = "application/json"
        # As the SDK's own flow: a 401 refreshes the token once and sends again.
        refused: str | None = None
        for _ in range(2):
            if not self._credential.valid or refused is not None:
                await self._refresh(refused)
            sent = dict(headers)
            self._credential.apply(sent)  # type: ignore[no-untyped-call]
            response = await self._send(method, url, sent, body)
            if response.status_code != 401 or refused is not None:
                break
            refused = self._credential.token or ""
        return response.raise_for_status()

    async def _send(self, method: str, url: str, headers: dict[str, str],
                    body: bytes | None) -> httpx.Response:
        request = httpx.Request(method, url, headers=headers)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.request(method, url, headers=headers, data=body) as r:
                content = await r.read()
                return httpx.Response(r.status, headers=list(r.headers.items()),
                                      content=content, request=request)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(f"FCM did not answer: {exc!r}", request=request) from exc
        except aiohttp.ClientConnectionError as exc:
            raise httpx.ConnectError(f"FCM connection failed: {exc}", request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.TransportError(f"FCM request failed: {exc}", request=request) from exc

    async def _refresh(self, refused: str | None) -> None:
        """Fetch a new token in a worker thread (google-auth's refresh blocks); callers that
        arrive meanwhile wait for that one refresh instead of starting their own. `refused`:
        the token FCM answered 401 to, replaced unless someone replaced it meanwhile."""
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            if not self._credential.valid or (refused is not None
                                              and self._credential.token == refused):
                await asyncio.to_thread(self._credential.refresh, google_requests.Request())

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
