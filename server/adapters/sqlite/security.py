"""SQLite tables for API keys, the audit log, and retention purges."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime

from ...domain.records import Incident, Report
from ...ports.credentials import ApiKey
from ...security.hashchain import AuditEntry, seal_after
from ...security.retention import DELETED, PURGED, redact, redact_summary
from ..codec import dumps, from_doc, loads, to_doc
from .base import SqliteBase


def _rewrite(db: sqlite3.Connection, inc: Incident) -> None:
    # A content change is a change: bump the version so no stale transition overwrites it.
    bumped = replace(inc, version=inc.version + 1)
    db.execute("UPDATE incidents SET doc = ?, version = ? WHERE id = ?",
               (dumps(to_doc(bumped)), bumped.version, inc.id))


def append_audit_row(conn: sqlite3.Connection, entry: AuditEntry) -> AuditEntry:
    """Inside a unit of work: seal the entry after the last one and append it (a unit
    that changes something appends its own entry, so the two commit together)."""
    row = conn.execute("SELECT seq, json_extract(doc, '$.hash') FROM audit"
                       " ORDER BY seq DESC LIMIT 1").fetchone()
    sealed = seal_after(entry, None if row is None else (row[0], row[1]))
    conn.execute("INSERT INTO audit (seq, doc) VALUES (?, ?)",
                 (sealed.seq, dumps(to_doc(sealed))))
    return sealed


class SecurityTables(SqliteBase):
    """Connector keys, the hash-chained audit log, and redaction of report content."""

    async def put_api_key(self, key: ApiKey) -> None:
        """Insert or replace a key."""
        doc = dumps(to_doc(key))
        await self._unit(lambda db: db.execute(
            "INSERT INTO api_keys (id, doc) VALUES (?, ?) ON CONFLICT (id)"
            " DO UPDATE SET doc=excluded.doc", (key.id, doc)))

    async def get_api_key(self, kid: str) -> ApiKey | None:
        """One key."""
        row = await self._fetchone("SELECT doc FROM api_keys WHERE id = ?", (kid,))
        return None if row is None else from_doc(ApiKey, loads(row[0]))

    async def list_api_keys(self) -> list[ApiKey]:
        """All keys, oldest first."""
        rows = await self._fetchall("SELECT doc FROM api_keys")
        keys = [from_doc(ApiKey, loads(r[0])) for r in rows]
        return sorted(keys, key=lambda k: (k.created_at, k.id))

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Seal the entry after the last one and append it, in one transaction."""
        return await self._unit(lambda conn: append_audit_row(conn, entry))

    async def revoke_token(self, token_id: str, by: str, now: datetime) -> bool:
        """Record a revoked token id; False if it already was."""
        return await self._unit(lambda db: db.execute(
            "INSERT INTO revoked_tokens (jti, revoked_at, revoked_by) VALUES (?, ?, ?)"
            " ON CONFLICT (jti) DO NOTHING", (token_id, now.timestamp(), by)).rowcount > 0)

    async def token_revoked(self, token_id: str) -> bool:
        """True once the token id has been revoked."""
        return await self._fetchone("SELECT 1 FROM revoked_tokens WHERE jti = ?",
                                    (token_id,)) is not None

    async def list_audit(self, after_seq: int = 0, limit: int = 500) -> list[AuditEntry]:
        """Audit entries in order."""
        rows = await self._fetchall("SELECT doc FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                                    (after_seq, limit))
        return [from_doc(AuditEntry, loads(r[0])) for r in rows]

    async def purge_content(self, received_before: datetime, limit: int = 1000) -> int:
        """Remove text and author of reports older than the cutoff, and the summaries of
        incidents last seen before it. Returns how many reports were purged."""
        cutoff = received_before.timestamp()

        def work(db: sqlite3.Connection) -> int:
            rows = db.execute("SELECT doc FROM reports WHERE received_at < ? AND"
                              " json_extract(doc, '$.redacted') IS NULL LIMIT ?",
                              (cutoff, limit)).fetchall()
            for r in (from_doc(Report, loads(row[0])) for row in rows):
                db.execute("UPDATE reports SET doc = ? WHERE id = ?",
                           (dumps(to_doc(redact(r, "retention"))), r.id))
            for row in db.execute("SELECT doc FROM incidents WHERE last_seen_at < ? AND"
                                  " json_extract(doc, '$.summary') NOT IN (?, ?) LIMIT ?",
                                  (cutoff, PURGED, DELETED, limit)).fetchall():
                _rewrite(db, redact_summary(from_doc(Incident, loads(row[0])), PURGED))
            return len(rows)
        return await self._unit(work)

    async def redact_report(self, source: str, external_id: str) -> Report | None:
        """Remove one post's content because its source deleted it; None if unknown."""
        def work(db: sqlite3.Connection) -> Report | None:
            row = db.execute("SELECT doc FROM reports WHERE source = ? AND external_id = ?",
                             (source, external_id)).fetchone()
            if row is None:
                return None
            report = from_doc(Report, loads(row[0]))
            redacted = redact(report, "deleted_at_source")
            db.execute("UPDATE reports SET doc = ? WHERE id = ?",
                       (dumps(to_doc(redacted)), report.id))
            inc_row = db.execute("SELECT doc FROM incidents WHERE id = ?",
                                 (report.incident_id,)).fetchone()
            if inc_row is not None and report.text:
                inc = from_doc(Incident, loads(inc_row[0]))
                if report.text.startswith(inc.summary) or inc.summary.startswith(report.text):
                    _rewrite(db, redact_summary(inc, DELETED))
            return redacted
        return await self._unit(work)
