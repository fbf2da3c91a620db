"""Retention: purge what people wrote, and who they are, after the configured period."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from ..ports import Clock, RedactionStore

log = logging.getLogger(__name__)


class Retention:
    """Runs the purge now and then; incidents, counts and timelines are kept."""

    def __init__(self, store: RedactionStore, clock: Clock, days: float) -> None:
        self._store, self._clock, self._keep = store, clock, timedelta(days=days)

    async def purge(self) -> int:
        """Purge everything past the retention period; how many reports were purged."""
        total = 0
        while True:
            done = await self._store.purge_content(self._clock.now() - self._keep)
            total += done
            if done == 0:
                break
        if total:
            log.info("retention: purged the content of %d reports", total)
        return total

    async def run(self, every_s: float) -> None:
        """Purge at start and then every `every_s` seconds, until cancelled."""
        while True:
            try:
                await self.purge()
            except Exception:
                log.exception("retention purge failed; will try again")
            await asyncio.sleep(every_s)
