"""Versioned SQLite schema migrations, applied in order at start (PRAGMA user_version)."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: neighbourhoods, officers, devices, and a change counter for index refresh.
    """
    CREATE TABLE neighbourhoods (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        places TEXT NOT NULL,
        geometry TEXT NOT NULL,
        area_m2 REAL NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    INSERT INTO counters (name, value) VALUES ('neighbourhoods', 0);
    CREATE TABLE officers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        callsign TEXT NOT NULL,
        rank TEXT NOT NULL,
        neighbourhood_ids TEXT NOT NULL,
        on_duty INTEGER NOT NULL DEFAULT 0,
        duty_changed_at REAL,
        lat REAL,
        lon REAL,
        accuracy_m REAL,
        location_at REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX officers_on_duty ON officers (on_duty, location_at);
    CREATE TABLE devices (
        token TEXT PRIMARY KEY,
        officer_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        registered_at REAL NOT NULL
    );
    CREATE INDEX devices_officer ON devices (officer_id);
    """,
]
