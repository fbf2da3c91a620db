"""SQLite ingest: a post stored once and grouped into an incident in one unit of work, and
a batch of posts grouped in memory and written in one.

A batch reads what it must per post (the open incidents near it) but writes once at the
end: each incident it opened or changed once, in its final state, and every report and
event in one statement each, instead of three to five statements, a savepoint and an
encoding of the incident per post. A post whose grouping fails gets its own exception; if
the writes themselves fail, the batch is stored again post by post, each in a unit of its
own, so one bad post never costs the others.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Container, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.grouping import Box
from ...domain.records import Event, Incident, IncidentStatus, Report
from ...domain.transitions import IngestPlan
from ...ports.ingest import IngestItem, Stored
from ...security.hashchain import AuditEntry
from ..codec import dumps, from_doc, loads, to_doc
from .base import SqliteBase
from .rows import INCIDENT_UPSERT, incident_of, incident_row, insert_events
from .security import append_audit_row

REPORT_INSERT = ("INSERT INTO reports (id, source, external_id, incident_id, received_at, doc)"
                 " VALUES (?, ?, ?, ?, ?, ?)")
CANDIDATES = 200   # the most recent open incidents a post is compared with


def _candidates(conn: sqlite3.Connection, report: Report, window_start: datetime,
                categories: Sequence[str] | None, near: Box | None,
                skip: Container[str] = ()) -> list[Incident]:
    """The open incidents a post may join, most recent first (see _may_join), less those
    in `skip` (a batch holds a newer state of them)."""
    sql = ("SELECT id, doc FROM incidents WHERE neighbourhood_id IS ? AND status != ?"
           " AND last_seen_at >= ?")
    params: list[Any] = [report.neighbourhood_id, IncidentStatus.RESOLVED.value,
                         window_start.timestamp()]
    if categories is not None:
        sql += f" AND category IN ({','.join('?' * len(categories))})"
        params += list(categories)
    if near is not None:
        sql += " AND (lat IS NULL OR (lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?))"
        params += list(near)
    rows = conn.execute(sql + f" ORDER BY last_seen_at DESC LIMIT {CANDIDATES}",
                        params).fetchall()
    return [incident_of(r[1]) for r in rows if r[0] not in skip]


def _may_join(inc: Incident, item: IngestItem) -> bool:
    """_candidates' conditions, for an incident a batch holds in memory."""
    if inc.neighbourhood_id != item.report.neighbourhood_id:
        return False
    if inc.status is IncidentStatus.RESOLVED:
        return False
    if inc.last_seen_at.timestamp() < item.window_start.timestamp():
        return False
    if item.categories is not None and inc.category.value not in item.categories:
        return False
    if item.near is not None and inc.lat is not None:
        south, north, west, east = item.near
        return inc.lon is not None and south <= inc.lat <= north and west <= inc.lon <= east
    return True


def _decide(plan: Callable[[list[Incident]], IngestPlan],
            candidates: list[Incident]) -> IngestPlan:
    decided = plan(candidates)
    if not decided.created:  # a join is a change: bump the version like a transition
        decided = replace(decided, incident=replace(
            decided.incident, version=decided.incident.version + 1))
    return decided


def _report_row(stored: Report) -> tuple[Any, ...]:
    doc = to_doc(stored)
    return (stored.id, stored.source, stored.external_id, stored.incident_id,
            doc["received_at"], dumps(doc))


def _stored_by_key(conn: sqlite3.Connection,
                   items: Sequence[IngestItem]) -> dict[tuple[str, str], Report]:
    """The reports already stored under the items' (source, external_id): one indexed query
    per source (a row-value IN list would scan the table)."""
    by_source: dict[str, list[str]] = {}
    for i in items:
        by_source.setdefault(i.report.source, []).append(i.report.external_id)
    found: dict[tuple[str, str], Report] = {}
    for source, ids in by_source.items():
        unique = list(dict.fromkeys(ids))
        for at in range(0, len(unique), 500):   # well under SQLite's limit of bound values
            chunk = unique[at:at + 500]
            for row in conn.execute(
                    f"SELECT doc FROM reports WHERE source = ? AND external_id IN"
                    f" ({','.join('?' * len(chunk))})", [source, *chunk]):
                report = from_doc(Report, loads(row[0]))
                found[(report.source, report.external_id)] = report
    return found


def _incident(conn: sqlite3.Connection, iid: str | None) -> Incident | None:
    row = conn.execute("SELECT doc FROM incidents WHERE id = ?", (iid,)).fetchone()
    return None if row is None else incident_of(row[0])


def _group_in_memory(conn: sqlite3.Connection,
                     items: Sequence[IngestItem]) -> list[Stored | Exception]:
    """Inside one unit: group every post in order against the incidents near it (the
    store's, or this batch's newer state of them), then write it all."""
    stored = _stored_by_key(conn, items)
    changed: dict[str, Incident] = {}   # this batch's latest state of each, by id
    reports: list[tuple[Any, ...]] = []
    events: list[Event] = []
    outcomes: list[Stored | Exception] = []
    for item in items:
        report = item.report
        key = (report.source, report.external_id)
        if key in stored:   # stored before, or earlier in this batch
            first = stored[key]
            outcomes.append((first, changed.get(first.incident_id or "")
                             or _incident(conn, first.incident_id), None))
            continue
        try:
            nearby = _candidates(conn, report, item.window_start, item.categories, item.near,
                                 skip=changed)
            nearby += [i for i in changed.values() if _may_join(i, item)]
            nearby.sort(key=lambda i: i.last_seen_at, reverse=True)
            decided = _decide(item.plan, nearby[:CANDIDATES])
            new = replace(report, incident_id=decided.incident.id)
            row = _report_row(new)
        except Exception as exc:   # this post's problem only: nothing of it is kept
            outcomes.append(exc)
            continue
        changed[decided.incident.id] = decided.incident
        stored[key] = new
        reports.append(row)
        events += decided.events
        outcomes.append((new, decided.incident, decided))
    conn.executemany(INCIDENT_UPSERT, [incident_row(i) for i in changed.values()])
    conn.executemany(REPORT_INSERT, reports)
    insert_events(conn, events)
    return outcomes


class IngestTables(SqliteBase):
    """Reports in, grouped into incidents: the hot path of the alert loop."""

    async def ingest_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None,
                            audit: Callable[[bool], AuditEntry] | None = None,
                            near: Box | None = None) -> Stored:
        """Store a report once and group it, with its audit entry, in one unit of work (one
        savepoint in a transaction shared with whatever else is queued, one COMMIT). A
        repeat of (source, external_id) returns the stored report, its incident, no plan."""
        def work(conn: sqlite3.Connection) -> Stored:
            row = conn.execute("SELECT doc FROM reports WHERE source = ? AND external_id = ?",
                               (report.source, report.external_id)).fetchone()
            if row is not None:
                first = from_doc(Report, loads(row[0]))
                if audit is not None:
                    append_audit_row(conn, audit(False))
                return first, _incident(conn, first.incident_id), None
            decided = _decide(plan, _candidates(conn, report, window_start, categories, near))
            conn.execute(INCIDENT_UPSERT, incident_row(decided.incident))
            insert_events(conn, decided.events)
            new = replace(report, incident_id=decided.incident.id)
            conn.execute(REPORT_INSERT, _report_row(new))
            if audit is not None:
                append_audit_row(conn, audit(True))
            return new, decided.incident, decided
        return await self._unit(work)

    async def ingest_reports(self, items: Sequence[IngestItem]) -> list[Stored | Exception]:
        """ingest_report for each item, in order, in one unit of work (see the module)."""
        if not items:
            return []
        try:
            return await self._unit(lambda conn: _group_in_memory(conn, items))
        except Exception:   # the writes failed: find the post that cannot be stored
            done = await asyncio.gather(*(self.ingest_report(
                i.report, i.window_start, i.plan, i.categories, near=i.near) for i in items),
                return_exceptions=True)
        outcomes: list[Stored | Exception] = []
        for d in done:
            if isinstance(d, BaseException) and not isinstance(d, Exception):
                raise d   # cancelled: not one post's problem
            outcomes.append(d)
        return outcomes

    async def orphan_reports(self, received_before: datetime) -> list[Report]:
        """Reports stored without an incident (cannot happen here: one transaction does both)."""
        rows = await self._fetchall("SELECT doc FROM reports WHERE incident_id IS NULL"
                                    " AND received_at < ? LIMIT 100",
                                    (received_before.timestamp(),))
        return [from_doc(Report, loads(r[0])) for r in rows]

    async def attach_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None) -> IngestPlan:
        """Group a stored report that has no incident yet."""
        def work(conn: sqlite3.Connection) -> IngestPlan:
            decided = _decide(plan, _candidates(conn, report, window_start, categories, None))
            conn.execute(INCIDENT_UPSERT, incident_row(decided.incident))
            insert_events(conn, decided.events)
            new = replace(report, incident_id=decided.incident.id)
            conn.execute("UPDATE reports SET incident_id = ?, doc = ? WHERE id = ?",
                         (new.incident_id, dumps(to_doc(new)), new.id))
            return decided
        return await self._unit(work)
