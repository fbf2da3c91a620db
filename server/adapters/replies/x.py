"""Replies on X: POST /2/tweets with reply.in_reply_to_tweet_id, as the force's account
(an OAuth 2.0 user token with tweet.write).

X only lets an account reply to a post whose author mentioned it (or otherwise engaged with
it); anything else is refused with 403, and the reply is recorded as failed with X's reason.
X has no idempotency key: the reply service never sends the same reply twice itself."""

from __future__ import annotations

from typing import Any

import aiohttp

from ...domain.errors import ReplyFailed
from ...domain.records import Report

TIMEOUT = aiohttp.ClientTimeout(total=15)
NOT_MENTIONED = ("X only allows a reply when the poster mentioned the force's account: ")


class XReplier:
    """Posts as the force's X account."""

    def __init__(self, base_url: str, user_token: str) -> None:
        self._base, self._token = base_url.rstrip("/"), user_token
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=TIMEOUT, headers={"Authorization": f"Bearer {self._token}"})
        return self._session

    async def send(self, report: Report, text: str, key: str) -> str:
        """Reply in the post's thread; the remote tweet id."""
        body: dict[str, Any] = {"text": text,
                                "reply": {"in_reply_to_tweet_id": report.external_id}}
        try:
            async with self._http().post(f"{self._base}/2/tweets", json=body) as r:
                data = await r.json(content_type=None) or {}
                if r.status == 403:
                    raise ReplyFailed(NOT_MENTIONED + str(data.get("detail", r.reason)))
                if r.status >= 400:
                    raise ReplyFailed(f"X answered {r.status}: "
                                      f"{data.get('detail') or data.get('title') or r.reason}")
                return str(data["data"]["id"])
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError, TypeError) as exc:
            raise ReplyFailed(f"X could not be reached: {exc!r}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
