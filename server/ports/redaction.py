"""Removing what people wrote: at the end of retention, or when a post's source deletes it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..domain.records import Report


class RedactionStore(Protocol):
    """Redaction keeps the records (incidents, counts, timelines) and drops the content."""

    async def purge_content(self, received_before: datetime, limit: int = 1000) -> int:
        """Remove report text and authors (and incident summaries) older than the cutoff."""
        ...

    async def redact_report(self, source: str, external_id: str) -> Report | None:
        """Remove one post's content at its source's request; None if unknown."""
        ...
