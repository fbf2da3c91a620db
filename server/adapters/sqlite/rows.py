"""Incident rows and event rows, as both ingest and transitions write and read them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ...domain.records import Event, Incident
from ..codec import dumps, from_doc, loads, to_doc

INCIDENT_UPSERT = (
    "INSERT INTO incidents (id, status, priority, neighbourhood_id, last_seen_at, next_step_at,"
    " step_seq, version, escalated_at, taken_by, doc, category, lat, lon)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET status=excluded.status, priority=excluded.priority,"
    " category=excluded.category, lat=excluded.lat, lon=excluded.lon,"
    " last_seen_at=excluded.last_seen_at, next_step_at=excluded.next_step_at,"
    " step_seq=excluded.step_seq, version=excluded.version, escalated_at=excluded.escalated_at,"
    " taken_by=excluded.taken_by, doc=excluded.doc"
)


# Incidents by the exact text of their stored document. Grouping reads the open incidents
# near each post, and the escalation start reads the incident ingest just wrote: decoding
# them was a good part of the store's work. A changed incident has a new text, so it is
# decoded afresh; Incident is immutable, so sharing one is safe. Only the loop's thread
# touches this (units and reads run there).
_DECODED: dict[str, Incident] = {}
DECODED_SIZE = 4096


def _remember(doc: str, incident: Incident) -> Incident:
    if len(_DECODED) >= DECODED_SIZE:   # drop the oldest eighth (dicts keep their order)
        for stale in list(_DECODED)[:DECODED_SIZE // 8]:
            del _DECODED[stale]
    _DECODED[doc] = incident
    return incident


def incident_of(doc: str) -> Incident:
    """The incident a stored document holds."""
    found = _DECODED.get(doc)
    return _remember(doc, from_doc(Incident, loads(doc))) if found is None else found


def incident_row(i: Incident) -> tuple[Any, ...]:
    """INCIDENT_UPSERT's parameters for an incident; its decoded form is remembered under
    the text written (from the encoded fields, so it equals what a read would decode)."""
    doc = to_doc(i)
    text = dumps(doc)
    _remember(text, from_doc(Incident, doc))
    return (i.id, i.status.value, i.priority.value, i.neighbourhood_id, doc["last_seen_at"],
            doc["next_step_at"], i.step_seq, i.version, doc["escalated_at"], i.taken_by,
            text, i.category.value, i.lat, i.lon)


def insert_events(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Append events (their ids come from the table, in this order)."""
    conn.executemany("INSERT INTO events (incident_id, doc) VALUES (?, ?)",
                     [(e.incident_id, dumps(to_doc(e))) for e in events])
