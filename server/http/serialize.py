"""API shapes of the alert loop's records."""

from __future__ import annotations

from typing import Any

from ..domain.records import Alert, Delivery, Event, Incident, Report


def report_json(r: Report, *, content: bool = True) -> dict[str, Any]:
    """A report; `content=False` leaves out what the person wrote and who they are."""
    data: dict[str, Any] = {
        "id": r.id, "source": r.source, "external_id": r.external_id,
        "incident_id": r.incident_id, "neighbourhood_id": r.neighbourhood_id,
        "located_by": r.located_by, "priority": r.triage.priority.value,
        "category": r.triage.category.value, "cues": list(r.triage.cues),
        "band": r.triage.band.value, "score": r.triage.score,
        "posted_at": r.posted_at, "received_at": r.received_at,
        "location": None if r.lat is None else {"lat": r.lat, "lon": r.lon,
                                                "accuracy_m": r.accuracy_m},
        "redacted": r.redacted}
    if content:
        data.update(text=r.text, author=r.author, url=r.url, lang=r.lang, place=r.place)
    return data


HIDDEN = "[hidden: this role does not see what the public wrote]"


def incident_json(i: Incident, *, content: bool = True) -> dict[str, Any]:
    """An incident with its escalation state; `content=False` hides the summary."""
    return {
        "id": i.id, "status": i.status.value, "priority": i.priority.value,
        "category": i.category.value, "neighbourhood_id": i.neighbourhood_id,
        "summary": i.summary if content else HIDDEN, "report_count": i.report_count,
        "first_seen_at": i.first_seen_at, "last_seen_at": i.last_seen_at,
        "location": None if i.lat is None else {"lat": i.lat, "lon": i.lon},
        "wave": i.wave, "current_alert_id": i.current_alert_id, "alerted": list(i.alerted),
        "next_step_at": i.next_step_at,
        "acknowledged_by": i.acknowledged_by, "acknowledged_at": i.acknowledged_at,
        "escalated_at": i.escalated_at, "escalation_reason": i.escalation_reason,
        "taken_by": i.taken_by, "taken_at": i.taken_at, "assigned_to": i.assigned_to,
        "resolved_at": i.resolved_at, "resolved_by": i.resolved_by,
        "resolution_note": i.resolution_note,
        "outcome": None if i.outcome is None else i.outcome.value, "score": i.score,
        "created_at": i.created_at, "updated_at": i.updated_at}


def delivery_json(d: Delivery) -> dict[str, Any]:
    """What happened to one push."""
    return {"id": d.id, "officer_id": d.officer_id, "token_suffix": d.token[-8:],
            "kind": d.kind, "status": d.status, "attempts": d.attempts,
            "message_id": d.message_id, "error_code": d.error_code,
            "created_at": d.created_at, "updated_at": d.updated_at}


def alert_json(a: Alert, deliveries: list[Delivery] | None = None) -> dict[str, Any]:
    """An alert (one wave or assignment), with its deliveries when given."""
    data: dict[str, Any] = {
        "id": a.id, "incident_id": a.incident_id, "wave": a.wave, "kind": a.kind,
        "priority": a.priority.value, "recipients": list(a.recipients),
        "status": a.status.value, "created_at": a.created_at, "deadline": a.deadline,
        "acknowledged_by": a.acknowledged_by, "acknowledged_at": a.acknowledged_at,
        "closed_at": a.closed_at,
        "declines": [{"officer_id": o, "reason": r} for o, r in a.declines.items()]}
    if deliveries is not None:
        data["deliveries"] = [delivery_json(d) for d in deliveries if d.alert_id == a.id]
    return data


def event_json(e: Event) -> dict[str, Any]:
    """One timeline entry."""
    return {"id": e.id, "kind": e.kind, "at": e.at, "incident_id": e.incident_id,
            "alert_id": e.alert_id, "actor": e.actor, "data": e.data}

