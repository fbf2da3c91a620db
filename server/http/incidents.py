"""Control-room handlers: incidents, the escalation queue, assignment and resolution."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from .. import keys
from ..domain.errors import NotFound
from ..domain.records import Event, IncidentStatus, Outcome, Priority
from ..domain.times import parse_time
from .auth import principal_of, reads_content
from .io import json_response, query_choice, query_int, read_json, read_optional_json
from .replies import reply_json
from .routing import CONTROL, Route
from .serialize import alert_json, event_json, incident_json, report_json


async def list_incidents(request: web.Request) -> web.Response:
    """Incidents newest first, filtered and paged with an opaque cursor."""
    since = request.query.get("since")
    limit = query_int(request, "limit", 50, 1, 500)
    # Read before the list: a page that follows /v1/events from this id misses nothing and
    # replays nothing older than what it just read.
    last_event = await request.app[keys.STORE].last_event_id()
    items = await request.app[keys.STORE].list_incidents(
        status=query_choice(request, "status", [s.value for s in IncidentStatus]),
        priority=query_choice(request, "priority", [p.value for p in Priority]),
        neighbourhood_id=request.query.get("neighbourhood_id"),
        since=None if since is None else parse_time(since, "since"),
        before_id=request.query.get("cursor"), limit=limit)
    cursor = items[-1].id if len(items) == limit else None
    content = await reads_content(request, request.path_qs, len(items))
    response = json_response({"items": [incident_json(i, content=content) for i in items],
                              "next_cursor": cursor})
    response.headers["X-Last-Event-ID"] = str(last_event)
    return response


async def get_incident(request: web.Request) -> web.Response:
    """One incident with its reports, alerts (and deliveries) and timeline."""
    store = request.app[keys.STORE]
    iid = request.match_info["id"]
    incident = await store.get_incident(iid)
    if incident is None:
        raise NotFound("incident", iid)
    alerts = await store.list_alerts(iid)
    deliveries = await store.list_deliveries([a.id for a in alerts])
    timeline = await store.events_after(0, limit=5000, incident_id=iid)
    reports = await store.list_reports(iid)
    replies = await store.list_replies(iid)
    content = await reads_content(request, request.path, len(reports))
    return json_response({
        "replies": [reply_json(r) for r in replies],
        "response_times": response_times(incident.first_seen_at, timeline),
        "incident": incident_json(incident, content=content),
        "reports": [report_json(r, content=content) for r in reports],
        "alerts": [alert_json(a, deliveries) for a in alerts],
        "timeline": [event_json(e) for e in timeline]})


def response_times(first_seen: datetime, timeline: list[Event]) -> dict[str, float | None]:
    """Seconds from the first post to the first acknowledgement and to the first officer
    on scene (None until they happen)."""
    def first(kind: str) -> float | None:
        at = next((e.at for e in timeline if e.kind == kind), None)
        return None if at is None else round((at - first_seen).total_seconds(), 1)
    return {"to_acknowledge_s": first("acknowledged"), "to_scene_s": first("on_scene")}


async def list_escalations(request: web.Request) -> web.Response:
    """Escalated incidents nobody in the control room has taken yet, oldest first."""
    now = request.app[keys.CLOCK].now()
    items = await request.app[keys.STORE].escalation_queue()
    content = await reads_content(request, request.path, len(items))
    return json_response({"items": [
        {"incident_id": i.id, "waiting_s": round((now - (i.escalated_at or now))
                                                 .total_seconds(), 1),
         "incident": incident_json(i, content=content)} for i in items], "count": len(items)})


async def take_escalation(request: web.Request) -> web.Response:
    """An operator takes an escalated incident; a second taker gets 409."""
    incident = await request.app[keys.ESCALATION].take(request.match_info["incident_id"],
                                                       principal_of(request).sub)
    return json_response(incident_json(incident, content=False))


async def assign_incident(request: web.Request) -> web.Response:
    """Send the incident to one officer (pushed to their devices)."""
    body = await read_json(request)
    incident = await request.app[keys.ESCALATION].assign(
        request.match_info["id"], body["officer_id"], principal_of(request).sub)
    return json_response(incident_json(incident, content=False))


async def resolve_incident(request: web.Request) -> web.Response:
    """Close the incident, cancelling any pending alert."""
    body = await read_optional_json(request)
    incident = await request.app[keys.ESCALATION].resolve(
        request.match_info["id"], principal_of(request).sub, body.get("note"),
        Outcome(body["outcome"]) if body.get("outcome") else None)
    return json_response(incident_json(incident, content=False))


ROUTES = [
    Route("GET", "/v1/incidents", list_incidents, CONTROL),
    Route("GET", "/v1/incidents/{id}", get_incident, CONTROL),
    Route("POST", "/v1/incidents/{id}/assign", assign_incident, CONTROL),
    Route("POST", "/v1/incidents/{id}/resolve", resolve_incident, CONTROL),
    Route("GET", "/v1/escalations", list_escalations, CONTROL),
    Route("POST", "/v1/escalations/{incident_id}/take", take_escalation, CONTROL),
]
