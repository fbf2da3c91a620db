"""SQLite tables of the alert loop: reports, incidents, alerts, deliveries and events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.records import Alert, AlertStatus, Delivery, Event, Incident, IncidentStatus, Report
from ...domain.transitions import IngestPlan, Transition
from ..codec import from_doc, to_doc
from .base import SqliteBase

_INCIDENT_UPSERT = (
    "INSERT INTO incidents (id, status, priority, neighbourhood_id, last_seen_at, next_step_at,"
    " step_seq, version, escalated_at, taken_by, doc, category)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET status=excluded.status, priority=excluded.priority,"
    " category=excluded.category,"
    " last_seen_at=excluded.last_seen_at, next_step_at=excluded.next_step_at,"
    " step_seq=excluded.step_seq, version=excluded.version, escalated_at=excluded.escalated_at,"
    " taken_by=excluded.taken_by, doc=excluded.doc"
)


def _incident_row(i: Incident) -> tuple[Any, ...]:
    doc = to_doc(i)
    return (i.id, i.status.value, i.priority.value, i.neighbourhood_id, doc["last_seen_at"],
            doc["next_step_at"], i.step_seq, i.version, doc["escalated_at"], i.taken_by,
            json.dumps(doc), i.category.value)


def _insert_events(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    conn.executemany("INSERT INTO events (incident_id, doc) VALUES (?, ?)",
                     [(e.incident_id, json.dumps(to_doc(e))) for e in events])


def _group(conn: sqlite3.Connection, report: Report, window_start: datetime,
           plan: Callable[[list[Incident]], IngestPlan],
           categories: Sequence[str] | None) -> IngestPlan:
    """Inside a transaction: pick or open the report's incident and write it."""
    sql = ("SELECT doc FROM incidents WHERE neighbourhood_id IS ? AND status != ?"
           " AND last_seen_at >= ?")
    params: list[Any] = [report.neighbourhood_id, IncidentStatus.RESOLVED.value,
                         window_start.timestamp()]
    if categories is not None:
        sql += f" AND category IN ({','.join('?' * len(categories))})"
        params += list(categories)
    rows = conn.execute(sql + " ORDER BY last_seen_at DESC LIMIT 200", params).fetchall()
    decided = plan([from_doc(Incident, json.loads(r[0])) for r in rows])
    if not decided.created:  # a join is a change: bump the version like a transition
        decided = replace(decided, incident=replace(
            decided.incident, version=decided.incident.version + 1))
    # Only this transaction writes now, so the version guard always holds here.
    conn.execute(_INCIDENT_UPSERT, _incident_row(decided.incident))
    _insert_events(conn, decided.events)
    return decided


class AlertingTables(SqliteBase):
    """Reports, incidents (versioned), alerts, deliveries and the event log."""

    async def ingest_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None,
                            ) -> tuple[Report, Incident | None, IngestPlan | None]:
        """Store a report once and group it, in one transaction and one worker hop (the hot
        path). A repeat of (source, external_id) returns the stored report and its incident,
        and no plan."""
        def work(conn: sqlite3.Connection) -> tuple[Report, Incident | None, IngestPlan | None]:
            row = conn.execute("SELECT doc FROM reports WHERE source = ? AND external_id = ?",
                               (report.source, report.external_id)).fetchone()
            if row is not None:
                stored = from_doc(Report, json.loads(row[0]))
                inc = conn.execute("SELECT doc FROM incidents WHERE id = ?",
                                   (stored.incident_id,)).fetchone()
                incident = None if inc is None else from_doc(Incident, json.loads(inc[0]))
                return stored, incident, None
            decided = _group(conn, report, window_start, plan, categories)
            stored = replace(report, incident_id=decided.incident.id)
            doc = to_doc(stored)
            conn.execute(
                "INSERT INTO reports (id, source, external_id, incident_id, received_at, doc)"
                " VALUES (?, ?, ?, ?, ?, ?)", (stored.id, stored.source, stored.external_id,
                                              stored.incident_id, doc["received_at"],
                                              json.dumps(doc)))
            return stored, decided.incident, decided
        return await self._unit(work)

    async def orphan_reports(self, received_before: datetime) -> list[Report]:
        """Reports stored without an incident (cannot happen here: one transaction does both)."""
        rows = await self._fetchall("SELECT doc FROM reports WHERE incident_id IS NULL"
                                    " AND received_at < ? LIMIT 100",
                                    (received_before.timestamp(),))
        return [from_doc(Report, json.loads(r[0])) for r in rows]

    async def attach_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None) -> IngestPlan:
        """Group a stored report that has no incident yet."""
        def work(conn: sqlite3.Connection) -> IngestPlan:
            decided = _group(conn, report, window_start, plan, categories)
            stored = replace(report, incident_id=decided.incident.id)
            conn.execute("UPDATE reports SET incident_id = ?, doc = ? WHERE id = ?",
                         (stored.incident_id, json.dumps(to_doc(stored)), stored.id))
            return decided
        return await self._unit(work)

    async def commit_transition(self, t: Transition) -> bool:
        """Apply if the incident's stored version equals t.incident.version; bump it."""
        new = replace(t.incident, version=t.incident.version + 1)

        def work(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT version FROM incidents WHERE id = ?",
                               (new.id,)).fetchone()
            if row is None or row[0] != t.incident.version:
                return False
            conn.execute(_INCIDENT_UPSERT, _incident_row(new))
            for a in t.alerts:
                conn.execute(
                    "INSERT INTO alerts (id, incident_id, status, doc) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET status=excluded.status, doc=excluded.doc",
                    (a.id, a.incident_id, a.status.value, json.dumps(to_doc(a))))
                conn.executemany(
                    "INSERT OR IGNORE INTO alert_recipients (officer_id, alert_id) VALUES (?, ?)",
                    [(o, a.id) for o in a.recipients])
            _insert_events(conn, t.events)
            return True
        return await self._unit(work)

    async def get_report(self, rid: str) -> Report | None:
        """One report."""
        row = await self._fetchone("SELECT doc FROM reports WHERE id = ?", (rid,))
        return None if row is None else from_doc(Report, json.loads(row[0]))

    async def list_reports(self, incident_id: str, limit: int = 500) -> list[Report]:
        """An incident's reports, oldest first."""
        rows = await self._fetchall("SELECT doc FROM reports WHERE incident_id = ?"
                                    " ORDER BY received_at, id LIMIT ?", (incident_id, limit))
        return [from_doc(Report, json.loads(r[0])) for r in rows]

    async def find_reports(self, *, source: str | None = None, since: datetime | None = None,
                           before_id: str | None = None, limit: int = 50) -> list[Report]:
        """Reports newest first (ids sort by time); `before_id` pages on."""
        where, params = ["1=1"], []
        for clause, value in (("source = ?", source), ("id < ?", before_id),
                              ("received_at >= ?", since.timestamp() if since else None)):
            if value is not None:
                where.append(clause)
                params.append(value)
        rows = await self._fetchall(f"SELECT doc FROM reports WHERE {' AND '.join(where)}"
                                    " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [from_doc(Report, json.loads(r[0])) for r in rows]

    async def get_incident(self, iid: str) -> Incident | None:
        """One incident."""
        row = await self._fetchone("SELECT doc FROM incidents WHERE id = ?", (iid,))
        return None if row is None else from_doc(Incident, json.loads(row[0]))

    async def list_incidents(self, *, status: str | None = None, priority: str | None = None,
                             neighbourhood_id: str | None = None, since: datetime | None = None,
                             before_id: str | None = None, limit: int = 50) -> list[Incident]:
        """Incidents newest first, filtered; `before_id` pages on from a previous page."""
        where: list[str] = ["1=1"]
        params: list[Any] = []
        for column, value in (("status", status), ("priority", priority),
                              ("neighbourhood_id", neighbourhood_id), ("id <", before_id)):
            if value is not None:
                where.append(f"{column} ?" if " " in column else f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("last_seen_at >= ?")
            params.append(since.timestamp())
        rows = await self._fetchall(f"SELECT doc FROM incidents WHERE {' AND '.join(where)}"
                                    " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [from_doc(Incident, json.loads(r[0])) for r in rows]

    async def due_steps(self, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
        """(incident id, step_seq) of every step whose deadline has passed."""
        rows = await self._fetchall(
            "SELECT id, step_seq FROM incidents WHERE next_step_at IS NOT NULL"
            " AND next_step_at <= ? ORDER BY next_step_at LIMIT ?", (now.timestamp(), limit))
        return [(r[0], r[1]) for r in rows]

    async def pending_steps(self) -> list[tuple[str, int, datetime]]:
        """Every scheduled step, to re-arm timers after a restart."""
        rows = await self._fetchall("SELECT doc FROM incidents WHERE next_step_at IS NOT NULL")
        found = [from_doc(Incident, json.loads(r[0])) for r in rows]
        return [(i.id, i.step_seq, i.next_step_at) for i in found if i.next_step_at]

    async def escalation_queue(self) -> list[Incident]:
        """Escalated incidents nobody in the control room has taken, oldest first."""
        rows = await self._fetchall(
            "SELECT doc FROM incidents WHERE status = ? AND taken_by IS NULL"
            " ORDER BY escalated_at, id", (IncidentStatus.ESCALATED.value,))
        return [from_doc(Incident, json.loads(r[0])) for r in rows]

    async def get_alert(self, aid: str) -> Alert | None:
        """One alert."""
        row = await self._fetchone("SELECT doc FROM alerts WHERE id = ?", (aid,))
        return None if row is None else from_doc(Alert, json.loads(row[0]))

    async def list_alerts(self, incident_id: str) -> list[Alert]:
        """An incident's alerts, oldest first."""
        rows = await self._fetchall("SELECT doc FROM alerts WHERE incident_id = ? ORDER BY id",
                                    (incident_id,))
        return [from_doc(Alert, json.loads(r[0])) for r in rows]

    async def open_alerts_for(self, officer_id: str) -> list[Alert]:
        """Pending alerts sent to this officer, oldest first."""
        rows = await self._fetchall(
            "SELECT a.doc FROM alerts a JOIN alert_recipients r ON r.alert_id = a.id"
            " WHERE r.officer_id = ? AND a.status = ? ORDER BY a.id",
            (officer_id, AlertStatus.PENDING.value))
        return [from_doc(Alert, json.loads(r[0])) for r in rows]

    async def pending_alerts(self, limit: int = 200) -> list[Alert]:
        """Alerts still waiting for an acknowledgement, oldest first."""
        rows = await self._fetchall("SELECT doc FROM alerts WHERE status = ? ORDER BY id LIMIT ?",
                                    (AlertStatus.PENDING.value, limit))
        return [from_doc(Alert, json.loads(r[0])) for r in rows]

    async def put_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Insert or replace delivery records."""
        rows = [(d.id, d.alert_id, json.dumps(to_doc(d))) for d in deliveries]
        await self._unit(lambda conn: conn.executemany(
            "INSERT INTO deliveries (id, alert_id, doc) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc=excluded.doc", rows))

    async def list_deliveries(self, alert_ids: Sequence[str]) -> list[Delivery]:
        """Deliveries of these alerts, oldest first."""
        if not alert_ids:
            return []
        marks = ",".join("?" * len(alert_ids))
        rows = await self._fetchall(
            f"SELECT doc FROM deliveries WHERE alert_id IN ({marks}) ORDER BY id", alert_ids)
        return [from_doc(Delivery, json.loads(r[0])) for r in rows]

    async def add_events(self, events: Sequence[Event]) -> None:
        """Append events outside a transition (e.g. push outcomes)."""
        await self._unit(lambda conn: _insert_events(conn, events))

    async def last_event_id(self) -> int:
        """The newest event's id (0 when there are none)."""
        rows = await self._fetchall("SELECT COALESCE(MAX(id), 0) FROM events", ())
        return int(rows[0][0])

    async def events_after(self, after_id: int, *, limit: int = 500,
                           incident_id: str | None = None) -> list[Event]:
        """Events with id > after_id, oldest first (optionally of one incident)."""
        if incident_id is None:
            rows = await self._fetchall("SELECT id, doc FROM events WHERE id > ? ORDER BY id"
                                        " LIMIT ?", (after_id, limit))
        else:
            rows = await self._fetchall(
                "SELECT id, doc FROM events WHERE incident_id = ? AND id > ? ORDER BY id"
                " LIMIT ?", (incident_id, after_id, limit))
        return [from_doc(Event, {**json.loads(r[1]), "id": r[0]}) for r in rows]
