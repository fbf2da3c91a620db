"""Replies on Mastodon: POST /api/v1/statuses with in_reply_to_id and an Idempotency-Key,
so a retry of the same reply never posts a second copy."""

from __future__ import annotations

from typing import Any

import aiohttp

from ...domain.errors import ReplyFailed
from ...domain.records import Report

TIMEOUT = aiohttp.ClientTimeout(total=15)


class MastodonReplier:
    """Posts as the force's account on one instance."""

    def __init__(self, base_url: str, token: str) -> None:
        self._base, self._token = base_url.rstrip("/"), token
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=TIMEOUT, headers={"Authorization": f"Bearer {self._token}"})
        return self._session

    async def send(self, report: Report, text: str, key: str) -> str:
        """Reply publicly, mentioning the poster so they are notified."""
        mention = f"@{report.author} " if report.author else ""
        body: dict[str, Any] = {"status": f"{mention}{text}",
                                "in_reply_to_id": report.external_id}
        try:
            async with self._http().post(f"{self._base}/api/v1/statuses", json=body,
                                         headers={"Idempotency-Key": key}) as r:
                data = await r.json(content_type=None)
                if r.status >= 400:
                    raise ReplyFailed(f"Mastodon answered {r.status}: "
                                      f"{(data or {}).get('error', r.reason)}")
                return str(data["id"])
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            raise ReplyFailed(f"Mastodon could not be reached: {exc!r}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
