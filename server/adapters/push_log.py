"""The embedded push adapter: records and logs each message, sends nothing."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

from ..ports import PushMessage, PushOutcome

log = logging.getLogger(__name__)


class LogPush:
    """Push port that keeps every message (for `make run`, the demo and tests)."""

    def __init__(self) -> None:
        self.sent: list[PushMessage] = []
        self._ids = itertools.count(1)

    async def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        """Record each message as sent."""
        outcomes = []
        for m in messages:
            self.sent.append(m)
            log.info("push %s to %s…: %s", m.data.get("type"), m.token[:12], m.data)
            outcomes.append(PushOutcome("sent", message_id=f"log-{next(self._ids)}"))
        return outcomes

    async def close(self) -> None:
        """Nothing to release."""
