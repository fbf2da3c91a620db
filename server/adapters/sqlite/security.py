"""SQLite tables for API keys, the audit log, and retention purges."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import aiosqlite

from ...domain.records import Incident, Report
from ...security.apikeys import ApiKey
from ...security.hashchain import AuditEntry, seal
from ...security.retention import DELETED, PURGED, redact, redact_summary
from ..codec import from_doc, to_doc
from .base import SqliteBase


class SecurityTables(SqliteBase):
    """Connector keys, the hash-chained audit log, and redaction of report content."""

    async def put_api_key(self, key: ApiKey) -> None:
        """Insert or replace a key."""
        async with self._tx() as db:
            await db.execute("INSERT INTO api_keys (id, doc) VALUES (?, ?) ON CONFLICT (id)"
                             " DO UPDATE SET doc=excluded.doc", (key.id, json.dumps(to_doc(key))))

    async def get_api_key(self, kid: str) -> ApiKey | None:
        """One key."""
        row = await self._fetchone("SELECT doc FROM api_keys WHERE id = ?", (kid,))
        return None if row is None else from_doc(ApiKey, json.loads(row[0]))

    async def list_api_keys(self) -> list[ApiKey]:
        """All keys, oldest first."""
        rows = await self._fetchall("SELECT doc FROM api_keys")
        keys = [from_doc(ApiKey, json.loads(r[0])) for r in rows]
        return sorted(keys, key=lambda k: (k.created_at, k.id))

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Seal the entry after the last one and append it, in one transaction."""
        async with self._tx() as db:
            cur = await db.execute("SELECT doc FROM audit ORDER BY seq DESC LIMIT 1")
            row = await cur.fetchone()
            sealed = seal(entry, None if row is None else from_doc(AuditEntry,
                                                                   json.loads(row[0])))
            await db.execute("INSERT INTO audit (seq, doc) VALUES (?, ?)",
                             (sealed.seq, json.dumps(to_doc(sealed))))
        return sealed

    async def list_audit(self, after_seq: int = 0, limit: int = 500) -> list[AuditEntry]:
        """Audit entries in order."""
        rows = await self._fetchall("SELECT doc FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                                    (after_seq, limit))
        return [from_doc(AuditEntry, json.loads(r[0])) for r in rows]

    async def purge_content(self, received_before: datetime, limit: int = 1000) -> int:
        """Remove text and author of reports older than the cutoff, and the summaries of
        incidents last seen before it. Returns how many reports were purged."""
        cutoff = received_before.timestamp()
        async with self._tx() as db:
            cur = await db.execute(
                "SELECT doc FROM reports WHERE received_at < ? AND"
                " json_extract(doc, '$.redacted') IS NULL LIMIT ?", (cutoff, limit))
            reports = [from_doc(Report, json.loads(r[0])) for r in await cur.fetchall()]
            for r in reports:
                await db.execute("UPDATE reports SET doc = ? WHERE id = ?",
                                 (json.dumps(to_doc(redact(r, "retention"))), r.id))
            cur = await db.execute(
                "SELECT doc FROM incidents WHERE last_seen_at < ? AND"
                " json_extract(doc, '$.summary') NOT IN (?, ?) LIMIT ?",
                (cutoff, PURGED, DELETED, limit))
            for row in await cur.fetchall():
                await self._rewrite(db, redact_summary(from_doc(Incident, json.loads(row[0])),
                                                       PURGED))
        return len(reports)

    async def _rewrite(self, db: aiosqlite.Connection, inc: Incident) -> None:
        # A content change is a change: bump the version so no stale transition overwrites it.
        bumped = replace(inc, version=inc.version + 1)
        await db.execute("UPDATE incidents SET doc = ?, version = ? WHERE id = ?",
                         (json.dumps(to_doc(bumped)), bumped.version, inc.id))

    async def redact_report(self, source: str, external_id: str) -> Report | None:
        """Remove one post's content because its source deleted it; None if unknown."""
        async with self._tx() as db:
            cur = await db.execute("SELECT doc FROM reports WHERE source = ? AND"
                                   " external_id = ?", (source, external_id))
            row = await cur.fetchone()
            if row is None:
                return None
            report = from_doc(Report, json.loads(row[0]))
            redacted = redact(report, "deleted_at_source")
            await db.execute("UPDATE reports SET doc = ? WHERE id = ?",
                             (json.dumps(to_doc(redacted)), report.id))
            cur = await db.execute("SELECT doc FROM incidents WHERE id = ?",
                                   (report.incident_id,))
            inc_row = await cur.fetchone()
            if inc_row is not None and report.text:
                inc = from_doc(Incident, json.loads(inc_row[0]))
                if report.text.startswith(inc.summary) or inc.summary.startswith(report.text):
                    await self._rewrite(db, redact_summary(inc, DELETED))
        return redacted
