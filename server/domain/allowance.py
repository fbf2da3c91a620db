"""A sending allowance per network account: at most N replies in any rolling hour.

Networks cap how often an account may post (Bluesky by points per hour, Mastodon 300
statuses per 3 hours by default, X by tier); a force's account that hits the cap is locked
out for everyone, so Bluelight stops below it and says when to try again."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from .errors import DomainError

WINDOW = timedelta(hours=1)


class RepliesRateLimited(DomainError):
    """The account's allowance is spent; the reply was not sent."""

    code = "reply_rate_limited"
    status = 429
    title = "Too many replies"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Allowance:
    """A rolling-hour log of sends."""

    def __init__(self, per_hour: int) -> None:
        if per_hour < 1:
            raise ValueError("per_hour must be at least 1")
        self.per_hour = per_hour
        self._sent: deque[datetime] = deque()

    def wait_s(self, now: datetime) -> float:
        """Seconds until one more send is allowed (0: now)."""
        while self._sent and now - self._sent[0] >= WINDOW:
            self._sent.popleft()
        if len(self._sent) < self.per_hour:
            return 0.0
        return (self._sent[0] + WINDOW - now).total_seconds()

    def take(self, now: datetime, account: str) -> None:
        """Count one send, or raise RepliesRateLimited with the wait."""
        wait = self.wait_s(now)
        if wait > 0:
            raise RepliesRateLimited(
                f"{account} has sent {self.per_hour} replies in the last hour, its limit; "
                f"try again in {int(wait) + 1} s", retry_after_s=int(wait) + 1)
        self._sent.append(now)
