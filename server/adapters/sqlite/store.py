"""The embedded store: SQLite, a writer and a reader connection (see base.py)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ...domain.errors import DeviceInUse
from ...domain.model import (
    Device,
    LocationFix,
    Neighbourhood,
    Officer,
    OfficerProfile,
    OfficerStatus,
    Platform,
    Rank,
)
from .alerting import AlertingTables
from .base import SqliteBase
from .cursors import CursorTable
from .ingest import IngestTables
from .replies import ReplyTable
from .security import SecurityTables


def _ts(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _req_dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


_OFFICER_COLS = (
    "o.id, o.name, o.callsign, o.rank, o.neighbourhood_ids, o.on_duty, o.duty_changed_at, "
    "o.lat, o.lon, o.accuracy_m, o.location_at, o.created_at, o.updated_at, "
    "(SELECT COUNT(*) FROM devices d WHERE d.officer_id = o.id"
    " AND d.session_id = o.session_id), "
    "o.status, o.status_at, o.status_incident_id, o.session_id"
)


def _officer(row: Any) -> Officer:
    location = None
    if row[10] is not None:
        location = LocationFix(lat=row[7], lon=row[8], accuracy_m=row[9],
                               recorded_at=_req_dt(row[10]))
    profile = OfficerProfile(id=row[0], name=row[1], callsign=row[2], rank=Rank(row[3]),
                             neighbourhood_ids=tuple(json.loads(row[4])))
    return Officer(profile=profile, on_duty=bool(row[5]), duty_changed_at=_dt(row[6]),
                   location=location, created_at=_dt(row[11]), updated_at=_dt(row[12]),
                   device_count=row[13], status=OfficerStatus(row[14]), status_at=_dt(row[15]),
                   status_incident_id=row[16], session_id=row[17])


class SqliteStore(SecurityTables, IngestTables, AlertingTables, CursorTable, ReplyTable,
                  SqliteBase):
    """The Store port on one SQLite file."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        super().__init__(path, synchronous=synchronous)
        # Every new incident and every wave reads the officers on duty; most rows have not
        # changed since the last read, and decoding them was a seventh of the event loop
        # under 200 posts a second. An unchanged row gives back the same (frozen) Officer.
        self._on_duty: dict[str, tuple[Any, Officer]] = {}

    # Neighbourhoods

    async def put_neighbourhoods(self, items: Sequence[Neighbourhood]) -> list[bool]:
        """Upsert all items in one transaction and bump the change counter."""
        def work(db: sqlite3.Connection) -> list[bool]:
            created: list[bool] = []
            for n in items:
                exists = db.execute("SELECT 1 FROM neighbourhoods WHERE id = ?",
                                    (n.id,)).fetchone() is not None
                now = _ts(n.updated_at)
                db.execute(
                    "INSERT INTO neighbourhoods (id, name, places, geometry, area_m2, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                    " name=excluded.name, places=excluded.places, geometry=excluded.geometry,"
                    " area_m2=excluded.area_m2, updated_at=excluded.updated_at",
                    (n.id, n.name, json.dumps(list(n.places)), json.dumps(n.geometry),
                     n.area_m2, now, now))
                created.append(not exists)
            if items:
                db.execute("UPDATE counters SET value = value + 1 WHERE name = 'neighbourhoods'")
            return created
        return await self._unit(work)

    def _neighbourhood(self, row: Any, with_geometry: bool = True) -> Neighbourhood:
        return Neighbourhood(
            id=row[0], name=row[1], places=tuple(json.loads(row[2])),
            geometry=orjson.loads(row[3]) if with_geometry else {}, area_m2=row[4],
            created_at=_dt(row[5]), updated_at=_dt(row[6]),
        )

    async def get_neighbourhood(self, nid: str) -> Neighbourhood | None:
        """One neighbourhood, or None."""
        row = await self._fetchone(
            "SELECT id, name, places, geometry, area_m2, created_at, updated_at"
            " FROM neighbourhoods WHERE id = ?", (nid,))
        return None if row is None else self._neighbourhood(row)

    async def list_neighbourhoods(self, *, with_geometry: bool = True) -> list[Neighbourhood]:
        """All neighbourhoods ordered by id."""
        geometry = "geometry" if with_geometry else "'{}'"
        rows = await self._fetchall(
            f"SELECT id, name, places, {geometry}, area_m2, created_at, updated_at"
            " FROM neighbourhoods ORDER BY id")
        return [self._neighbourhood(r, with_geometry) for r in rows]

    async def delete_neighbourhood(self, nid: str) -> bool:
        """Delete one neighbourhood and bump the change counter."""
        def work(db: sqlite3.Connection) -> bool:
            deleted = db.execute("DELETE FROM neighbourhoods WHERE id = ?", (nid,)).rowcount > 0
            if deleted:
                db.execute("UPDATE counters SET value = value + 1 WHERE name = 'neighbourhoods'")
            return deleted
        return await self._unit(work)

    async def neighbourhoods_version(self) -> int:
        """The neighbourhood change counter."""
        row = await self._fetchone("SELECT value FROM counters WHERE name = 'neighbourhoods'")
        return int(row[0])

    # Officers

    async def put_officer(self, profile: OfficerProfile, now: datetime) -> tuple[Officer, bool]:
        """Upsert the profile columns only, so duty and location survive an edit."""
        def work(db: sqlite3.Connection) -> tuple[Officer, bool]:
            created = db.execute("SELECT 1 FROM officers WHERE id = ?",
                                 (profile.id,)).fetchone() is None
            db.execute(
                "INSERT INTO officers (id, name, callsign, rank, neighbourhood_ids, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " name=excluded.name, callsign=excluded.callsign, rank=excluded.rank,"
                " neighbourhood_ids=excluded.neighbourhood_ids, updated_at=excluded.updated_at",
                (profile.id, profile.name, profile.callsign, profile.rank.value,
                 json.dumps(list(profile.neighbourhood_ids)), _ts(now), _ts(now)))
            row = db.execute(f"SELECT {_OFFICER_COLS} FROM officers o WHERE o.id = ?",
                             (profile.id,)).fetchone()
            return _officer(row), created
        return await self._unit(work)

    async def get_officer(self, oid: str) -> Officer | None:
        """One officer, or None."""
        row = await self._fetchone(f"SELECT {_OFFICER_COLS} FROM officers o WHERE o.id = ?",
                                   (oid,))
        return None if row is None else _officer(row)

    async def list_officers(self) -> list[Officer]:
        """All officers ordered by id."""
        rows = await self._fetchall(f"SELECT {_OFFICER_COLS} FROM officers o ORDER BY o.id")
        return [_officer(r) for r in rows]

    async def set_duty(self, oid: str, on_duty: bool, now: datetime,
                       session_id: str | None = None) -> Officer | None:
        """Set duty state, opening or ending the session; the change time moves only when
        the state changes."""
        def work(db: sqlite3.Connection) -> Officer | None:
            changed = db.execute(
                "UPDATE officers SET duty_changed_at = ?, on_duty = ?, session_id = ?"
                " WHERE id = ? AND on_duty != ?",
                (_ts(now), int(on_duty), session_id if on_duty else None, oid,
                 int(on_duty))).rowcount
            if changed and on_duty:
                db.execute("UPDATE devices SET session_id = ? WHERE officer_id = ?"
                           " AND session_id IS NULL", (session_id, oid))
            row = db.execute(f"SELECT {_OFFICER_COLS} FROM officers o WHERE o.id = ?",
                             (oid,)).fetchone()
            return None if row is None else _officer(row)
        return await self._unit(work)

    async def set_status(self, oid: str, status: OfficerStatus, incident_id: str | None,
                         now: datetime, *, only_if_incident: str | None = None
                         ) -> Officer | None:
        """Set an officer's status; with `only_if_incident`, only if they are still on that
        incident (clearing never undoes a newer commitment)."""
        def work(db: sqlite3.Connection) -> Officer | None:
            guard = "" if only_if_incident is None else " AND status_incident_id = ?"
            params: tuple[Any, ...] = (status.value, _ts(now), incident_id, oid)
            if only_if_incident is not None:
                params = (*params, only_if_incident)
            db.execute("UPDATE officers SET status = ?, status_at = ?, status_incident_id = ?"
                       f" WHERE id = ?{guard}", params)
            row = db.execute(f"SELECT {_OFFICER_COLS} FROM officers o WHERE o.id = ?",
                             (oid,)).fetchone()
            return None if row is None else _officer(row)
        return await self._unit(work)

    async def update_location(self, oid: str, fix: LocationFix) -> tuple[Officer | None, bool]:
        """Conditional update: only a fix newer than the stored one is applied."""
        def work(db: sqlite3.Connection) -> tuple[Officer | None, bool]:
            applied = db.execute(
                "UPDATE officers SET lat = ?, lon = ?, accuracy_m = ?, location_at = ?"
                " WHERE id = ? AND (location_at IS NULL OR location_at < ?)",
                (fix.lat, fix.lon, fix.accuracy_m, _ts(fix.recorded_at), oid,
                 _ts(fix.recorded_at))).rowcount > 0
            row = db.execute(f"SELECT {_OFFICER_COLS} FROM officers o WHERE o.id = ?",
                             (oid,)).fetchone()
            return (None if row is None else _officer(row)), applied
        return await self._unit(work)

    async def put_device(self, device: Device) -> str | None:
        """Register a token; a token belongs to one officer, so registering moves it, but
        never out of another officer's current duty session (Conflict device_in_use)."""
        def work(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT d.officer_id, d.session_id IS NOT NULL AND d.session_id = o.session_id"
                " FROM devices d LEFT JOIN officers o ON o.id = d.officer_id WHERE d.token = ?",
                (device.token,)).fetchone()
            if row is not None and row[0] != device.officer_id and row[1]:
                raise DeviceInUse()
            db.execute(
                "INSERT INTO devices (token, officer_id, platform, registered_at, session_id)"
                " VALUES (?, ?, ?, ?, (SELECT session_id FROM officers WHERE id = ?))"
                " ON CONFLICT (token) DO UPDATE SET"
                " officer_id=excluded.officer_id, platform=excluded.platform,"
                " registered_at=excluded.registered_at, session_id=excluded.session_id",
                (device.token, device.officer_id, device.platform.value,
                 _ts(device.registered_at), device.officer_id))
            return None if row is None else str(row[0])
        return await self._unit(work)

    async def delete_device(self, oid: str, token: str) -> bool:
        """Remove an officer's token."""
        return await self._unit(lambda db: db.execute(
            "DELETE FROM devices WHERE token = ? AND officer_id = ?", (token, oid)).rowcount > 0)

    async def list_devices(self, oid: str) -> list[Device]:
        """An officer's registered devices, oldest first."""
        rows = await self._fetchall(
            "SELECT token, officer_id, platform, registered_at FROM devices"
            " WHERE officer_id = ? ORDER BY registered_at, token", (oid,))
        return [Device(token=r[0], officer_id=r[1], platform=Platform(r[2]),
                       registered_at=_req_dt(r[3])) for r in rows]

    async def on_duty_officers(self, fresh_since: datetime) -> list[Officer]:
        """Officers on duty whose last fix is at or after `fresh_since`."""
        rows = await self._fetchall(
            f"SELECT {_OFFICER_COLS} FROM officers o WHERE o.on_duty = 1"
            " AND o.location_at >= ? ORDER BY o.id", (_ts(fresh_since),))
        seen, found = self._on_duty, []
        for row in rows:
            known = seen.get(row[0])
            if known is None or known[0] != row:
                known = seen[row[0]] = (row, _officer(row))
            found.append(known[1])
        if len(seen) > 2 * len(rows) + 1000:   # officers gone off duty: forget them
            self._on_duty = {row[0]: seen[row[0]] for row in rows}
        return found

    async def devices_for(self, officer_ids: Sequence[str]) -> list[Device]:
        """Every device of these officers."""
        if not officer_ids:
            return []
        marks = ",".join("?" * len(officer_ids))
        rows = await self._fetchall(
            "SELECT d.token, d.officer_id, d.platform, d.registered_at FROM devices d"
            " JOIN officers o ON o.id = d.officer_id AND d.session_id = o.session_id"
            f" WHERE d.officer_id IN ({marks}) ORDER BY d.officer_id, d.token", officer_ids)
        return [Device(token=r[0], officer_id=r[1], platform=Platform(r[2]),
                       registered_at=_req_dt(r[3])) for r in rows]

    async def forget_token(self, token: str) -> bool:
        """Remove a token FCM says is dead, whoever has it."""
        return await self._unit(lambda db: db.execute(
            "DELETE FROM devices WHERE token = ?", (token,)).rowcount > 0)
