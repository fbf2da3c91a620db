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

MIGRATIONS.append(
    # 2: the alert loop. Whole records live in `doc` (JSON, see adapters/codec.py); the
    # columns beside it are the ones that queries filter, sort or guard on.
    """
    CREATE TABLE reports (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        external_id TEXT NOT NULL,
        incident_id TEXT,
        received_at REAL NOT NULL,
        doc TEXT NOT NULL,
        UNIQUE (source, external_id)
    );
    CREATE INDEX reports_incident ON reports (incident_id, received_at);
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        priority TEXT NOT NULL,
        neighbourhood_id TEXT,
        last_seen_at REAL NOT NULL,
        next_step_at REAL,
        step_seq INTEGER NOT NULL,
        version INTEGER NOT NULL,
        escalated_at REAL,
        taken_by TEXT,
        doc TEXT NOT NULL
    );
    CREATE INDEX incidents_group ON incidents (neighbourhood_id, status, last_seen_at);
    CREATE INDEX incidents_due ON incidents (next_step_at) WHERE next_step_at IS NOT NULL;
    CREATE INDEX incidents_queue ON incidents (status, escalated_at);
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL,
        status TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX alerts_incident ON alerts (incident_id, id);
    CREATE TABLE alert_recipients (
        officer_id TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        PRIMARY KEY (officer_id, alert_id)
    );
    CREATE TABLE deliveries (
        id TEXT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX deliveries_alert ON deliveries (alert_id, id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id TEXT,
        doc TEXT NOT NULL
    );
    CREATE INDEX events_incident ON events (incident_id, id);
    """
)

MIGRATIONS.append(
    # 3: connector keys, and the audit log, which the database itself keeps append-only.
    """
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        doc TEXT NOT NULL
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        doc TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit log is append-only');
    END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit log is append-only');
    END;
    """
)

MIGRATIONS.append(
    # 4: grouping reads only incidents of compatible categories.
    """
    ALTER TABLE incidents ADD COLUMN category TEXT;
    UPDATE incidents SET category = json_extract(doc, '$.category');
    CREATE INDEX incidents_group_category
        ON incidents (neighbourhood_id, category, status, last_seen_at);
    """
)

MIGRATIONS.append(
    # 5: the redelivery worker looks for pending alerts every sweep.
    """
    CREATE INDEX alerts_status ON alerts (status, id);
    """,
)

MIGRATIONS.append(
    # 6: built-in sources keep their place in each stream.
    """
    CREATE TABLE source_cursors (
        id TEXT PRIMARY KEY,
        cursor TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
)

MIGRATIONS.append(
    # 7: replies to posters.
    """
    CREATE TABLE replies (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX replies_incident ON replies (incident_id, created_at);
    """,
)

MIGRATIONS.append(
    # 8: officer status (available, committed, on scene, unavailable) for dispatch.
    """
    ALTER TABLE officers ADD COLUMN status TEXT NOT NULL DEFAULT 'available';
    ALTER TABLE officers ADD COLUMN status_at REAL;
    ALTER TABLE officers ADD COLUMN status_incident_id TEXT;
    """,
)

MIGRATIONS.append(
    # 9: duty sessions. Only the devices of an officer's current session are pushed;
    # officers on duty when this runs keep their devices in a session of their own.
    """
    ALTER TABLE officers ADD COLUMN session_id TEXT;
    ALTER TABLE devices ADD COLUMN session_id TEXT;
    UPDATE officers SET session_id = 'dut_legacy_' || id WHERE on_duty = 1;
    UPDATE devices SET session_id =
        (SELECT o.session_id FROM officers o WHERE o.id = devices.officer_id);
    """,
)

MIGRATIONS.append(
    # 10: bearer tokens revoked by their jti before they expire.
    """
    CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        revoked_at REAL NOT NULL,
        revoked_by TEXT NOT NULL
    );
    """,
)

MIGRATIONS.append(
    # 11: incident coordinates as columns, so grouping reads only the incidents near a post
    # (every open incident of a busy neighbourhood was read, and decoded, for each post);
    # the grouping index holds everything the query filters on, so SQLite reads a row only
    # for an incident that passes.
    """
    ALTER TABLE incidents ADD COLUMN lat REAL;
    ALTER TABLE incidents ADD COLUMN lon REAL;
    UPDATE incidents SET lat = json_extract(doc, '$.lat'), lon = json_extract(doc, '$.lon');
    DROP INDEX incidents_group_category;
    CREATE INDEX incidents_group_near
        ON incidents (neighbourhood_id, category, last_seen_at, status, lat, lon);
    """,
)
