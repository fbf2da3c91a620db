"""The audit log: who changed what, and which person read what the public wrote."""

from __future__ import annotations

from typing import Any

from ..domain.model import Principal
from ..domain.visibility import sees_content
from ..ports import AuditStore, Clock
from ..security.hashchain import AuditEntry, verify


class AuditLog:
    """Appends hash-chained entries; `verify_chain` finds any edited or deleted entry."""

    def __init__(self, store: AuditStore, clock: Clock) -> None:
        self._store, self._clock = store, clock

    def entry(self, who: Principal | None, action: str, target: str, ip: str | None,
              detail: dict[str, Any] | None = None) -> AuditEntry:
        """An entry stamped now, not yet sealed: for a write that appends its own entry in
        its unit of work (ingest), so the change and its record commit together."""
        return AuditEntry(seq=0, at=self._clock.now(), actor=who.sub if who else "anonymous",
                          role=who.role.value if who else "none", action=action,
                          target=target, ip=ip, detail=detail or {})

    async def record(self, who: Principal | None, action: str, target: str, ip: str | None,
                     detail: dict[str, Any] | None = None) -> AuditEntry:
        """Append one entry (anonymous when `who` is None)."""
        return await self._store.append_audit(self.entry(who, action, target, ip, detail))

    async def reads_content(self, who: Principal, what: str, ip: str | None,
                            count: int) -> bool:
        """True if `who` sees what the public wrote in the `count` items of `what` (a path);
        such a read is recorded first, so nothing is shown that the log does not hold."""
        if not sees_content(who):
            return False
        if count:
            await self.record(who, "read_report_content", what, ip, {"items": count})
        return True

    async def head(self) -> AuditEntry | None:
        """The newest entry."""
        last: AuditEntry | None = None
        after = 0
        while page := await self._store.list_audit(after, limit=1000):
            last, after = page[-1], page[-1].seq
        return last

    async def check_anchor(self, anchor: str) -> list[str]:
        """Problems if the entry an earlier run saw as head is gone or changed."""
        seq_text, _, expected = anchor.partition(":")
        if not seq_text.isdigit() or not expected:
            return [f"the anchor {anchor!r} is not SEQ:HASH"]
        seq = int(seq_text)
        found = await self._store.list_audit(seq - 1, limit=1)
        if not found or found[0].seq != seq:
            return [f"entry {seq} (an earlier head) is missing: the log was cut"]
        if found[0].hash != expected:
            return [f"entry {seq} (an earlier head) has a different hash"]
        return []

    async def verify_chain(self) -> tuple[int, list[str]]:
        """(entries checked, problems found) over the whole log."""
        problems: list[str] = []
        count, after, previous = 0, 0, None
        while True:
            page = await self._store.list_audit(after, limit=1000)
            if not page:
                return count, problems
            chunk = page if previous is None else [previous, *page]
            found = verify(chunk)
            # Re-checking `previous` would re-report the first entry's own problems.
            problems += found if previous is None else [
                p for p in found if not p.startswith(f"entry {previous.seq} ")]
            count += len(page)
            previous, after = page[-1], page[-1].seq
