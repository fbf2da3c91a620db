"""The officer's alerts: list, acknowledge (first wins), decline."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from .auth import principal_of, reads_content
from .io import json_response, read_optional_json
from .routing import OFFICER, Route
from .serialize import alert_json, incident_json


async def my_alerts(request: web.Request) -> web.Response:
    """Pending alerts sent to the calling officer and not declined by them, with incidents."""
    store = request.app[keys.STORE]
    sub = principal_of(request).sub
    found = []
    for alert in await store.open_alerts_for(sub):
        if sub not in alert.declines:
            found.append((alert, await store.get_incident(alert.incident_id)))
    content = await reads_content(request, request.path, len(found))
    items = [{**alert_json(a), "incident": None if i is None else incident_json(
        i, content=content)} for a, i in found]
    return json_response({"items": items, "count": len(items)})


async def ack(request: web.Request) -> web.Response:
    """Take the alert: 200 for the first recipient, 409 naming the taker for the rest."""
    alert = await request.app[keys.ESCALATION].acknowledge(request.match_info["id"],
                                                           principal_of(request).sub)
    return json_response(alert_json(alert))


async def decline(request: web.Request) -> web.Response:
    """Decline the alert; when every recipient has, the next step starts at once."""
    body = await read_optional_json(request)
    alert = await request.app[keys.ESCALATION].decline(
        request.match_info["id"], principal_of(request).sub, body.get("reason"))
    return json_response(alert_json(alert))


ROUTES = [
    Route("GET", "/v1/me/alerts", my_alerts, OFFICER),
    Route("POST", "/v1/alerts/{id}/ack", ack, OFFICER),
    Route("POST", "/v1/alerts/{id}/decline", decline, OFFICER),
]
