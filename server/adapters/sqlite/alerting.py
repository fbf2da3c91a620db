"""SQLite tables of the alert loop: incidents, alerts, deliveries and events, and report
queries (reports come in through ingest.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ...domain.records import Alert, AlertStatus, Delivery, Event, Incident, IncidentStatus, Report
from ...domain.transitions import Transition
from ..codec import dumps, from_doc, loads, to_doc
from .base import SqliteBase
from .rows import INCIDENT_UPSERT, incident_of, incident_row, insert_events


def _apply(conn: sqlite3.Connection, t: Transition) -> bool:
    """Inside a unit of work: write all of t if the incident's stored version equals
    t.incident.version, bumping it; False (nothing written) otherwise."""
    new = replace(t.incident, version=t.incident.version + 1)
    row = conn.execute("SELECT version FROM incidents WHERE id = ?", (new.id,)).fetchone()
    if row is None or row[0] != t.incident.version:
        return False
    conn.execute(INCIDENT_UPSERT, incident_row(new))
    for a in t.alerts:
        conn.execute(
            "INSERT INTO alerts (id, incident_id, status, doc) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET status=excluded.status, doc=excluded.doc",
            (a.id, a.incident_id, a.status.value, dumps(to_doc(a))))
        conn.executemany(
            "INSERT OR IGNORE INTO alert_recipients (officer_id, alert_id) VALUES (?, ?)",
            [(o, a.id) for o in a.recipients])
    insert_events(conn, t.events)
    return True


class AlertingTables(SqliteBase):
    """Reports, incidents (versioned), alerts, deliveries and the event log."""

    async def commit_transition(self, t: Transition) -> bool:
        """Apply if the incident's stored version equals t.incident.version; bump it."""
        return await self._unit(lambda conn: _apply(conn, t))

    async def commit_transitions(self, ts: Sequence[Transition]) -> list[bool]:
        """commit_transition for each, in one unit of work: one hop to the worker thread
        for a batch's starts instead of one each (a failure undoes them all and raises)."""
        if not ts:
            return []
        return await self._unit(lambda conn: [_apply(conn, t) for t in ts])

    async def get_report(self, rid: str) -> Report | None:
        """One report."""
        row = await self._fetchone("SELECT doc FROM reports WHERE id = ?", (rid,))
        return None if row is None else from_doc(Report, loads(row[0]))

    async def list_reports(self, incident_id: str, limit: int = 500) -> list[Report]:
        """An incident's reports, oldest first."""
        rows = await self._fetchall("SELECT doc FROM reports WHERE incident_id = ?"
                                    " ORDER BY received_at, id LIMIT ?", (incident_id, limit))
        return [from_doc(Report, loads(r[0])) for r in rows]

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
        return [from_doc(Report, loads(r[0])) for r in rows]

    async def get_incident(self, iid: str) -> Incident | None:
        """One incident."""
        row = await self._fetchone("SELECT doc FROM incidents WHERE id = ?", (iid,))
        return None if row is None else incident_of(row[0])

    async def get_incidents(self, ids: Sequence[str]) -> list[Incident]:
        """Several incidents in one read (per 500: well under SQLite's bound values)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Incident] = {}
        for at in range(0, len(wanted), 500):
            chunk = wanted[at:at + 500]
            rows = await self._fetchall("SELECT id, doc FROM incidents WHERE id IN"
                                        f" ({','.join('?' * len(chunk))})", chunk)
            found.update((r[0], incident_of(r[1])) for r in rows)
        return [found[i] for i in wanted if i in found]

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
        return [incident_of(r[0]) for r in rows]

    async def due_steps(self, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
        """(incident id, step_seq) of every step whose deadline has passed."""
        rows = await self._fetchall(
            "SELECT id, step_seq FROM incidents WHERE next_step_at IS NOT NULL"
            " AND next_step_at <= ? ORDER BY next_step_at LIMIT ?", (now.timestamp(), limit))
        return [(r[0], r[1]) for r in rows]

    async def pending_steps(self) -> list[tuple[str, int, datetime]]:
        """Every scheduled step, to re-arm timers after a restart."""
        rows = await self._fetchall("SELECT id, step_seq, next_step_at FROM incidents"
                                    " WHERE next_step_at IS NOT NULL")
        return [(r[0], r[1], datetime.fromtimestamp(r[2], UTC)) for r in rows]

    async def escalation_queue(self) -> list[Incident]:
        """Escalated incidents nobody in the control room has taken, oldest first."""
        rows = await self._fetchall(
            "SELECT doc FROM incidents WHERE status = ? AND taken_by IS NULL"
            " ORDER BY escalated_at, id", (IncidentStatus.ESCALATED.value,))
        return [incident_of(r[0]) for r in rows]

    async def get_alert(self, aid: str) -> Alert | None:
        """One alert."""
        row = await self._fetchone("SELECT doc FROM alerts WHERE id = ?", (aid,))
        return None if row is None else from_doc(Alert, loads(row[0]))

    async def list_alerts(self, incident_id: str) -> list[Alert]:
        """An incident's alerts, oldest first."""
        rows = await self._fetchall("SELECT doc FROM alerts WHERE incident_id = ? ORDER BY id",
                                    (incident_id,))
        return [from_doc(Alert, loads(r[0])) for r in rows]

    async def list_alerts_of(self, incident_ids: Sequence[str]) -> dict[str, list[Alert]]:
        """Several incidents' alerts in one read (per 500, as get_incidents)."""
        found: dict[str, list[Alert]] = {i: [] for i in incident_ids}
        wanted = list(found)
        for at in range(0, len(wanted), 500):
            chunk = wanted[at:at + 500]
            rows = await self._fetchall(
                "SELECT incident_id, doc FROM alerts WHERE incident_id IN"
                f" ({','.join('?' * len(chunk))}) ORDER BY id", chunk)
            for r in rows:
                found[r[0]].append(from_doc(Alert, loads(r[1])))
        return found

    async def open_alerts_for(self, officer_id: str) -> list[Alert]:
        """Pending alerts sent to this officer, oldest first."""
        rows = await self._fetchall(
            "SELECT a.doc FROM alerts a JOIN alert_recipients r ON r.alert_id = a.id"
            " WHERE r.officer_id = ? AND a.status = ? ORDER BY a.id",
            (officer_id, AlertStatus.PENDING.value))
        return [from_doc(Alert, loads(r[0])) for r in rows]

    async def pending_alerts(self, limit: int = 200) -> list[Alert]:
        """Alerts still waiting for an acknowledgement, oldest first."""
        rows = await self._fetchall("SELECT doc FROM alerts WHERE status = ? ORDER BY id LIMIT ?",
                                    (AlertStatus.PENDING.value, limit))
        return [from_doc(Alert, loads(r[0])) for r in rows]

    async def put_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Insert or replace delivery records."""
        rows = [(d.id, d.alert_id, dumps(to_doc(d))) for d in deliveries]
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
        return [from_doc(Delivery, loads(r[0])) for r in rows]

    async def add_events(self, events: Sequence[Event]) -> None:
        """Append events outside a transition (e.g. push outcomes)."""
        await self._unit(lambda conn: insert_events(conn, events))

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
        return [from_doc(Event, {**loads(r[1]), "id": r[0]}) for r in rows]
