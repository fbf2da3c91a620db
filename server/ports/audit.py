"""The audit log as the store keeps it: appended in order, hash-chained, never edited."""

from __future__ import annotations

from typing import Protocol

from ..security.hashchain import AuditEntry


class AuditStore(Protocol):
    """Who changed what, and which person read what the public wrote."""

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Number, chain and append an entry (atomically with respect to other writers)."""
        ...

    async def list_audit(self, after_seq: int = 0, limit: int = 500) -> list[AuditEntry]:
        """Audit entries in order."""
        ...
