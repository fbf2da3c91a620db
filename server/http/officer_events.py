"""GET /v1/me/events: the officer app's live stream, resumable by Last-Event-ID.

It carries only what concerns the calling officer: the alerts sent to them (and what became
of each: taken by someone, expired, cancelled) and the later events of those alerts'
incidents. Each event is a wake-up with just enough to show; the app reads the alert itself
from GET /v1/me/alerts, so the stream never holds a post's text.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .. import keys
from ..domain.records import Event
from ..ports import AlertReads
from .auth import principal_of
from .events import HEARTBEAT_EVERY, open_stream, resume_from
from .io import json_default
from .routing import OFFICER, Route

# Fields of an event's data an officer may see (recipient lists name other officers).
SHOWN = ("status", "priority", "wave", "deadline", "officer_id", "outcome", "reason", "to",
         "platform")


class OfficerView:
    """Which events concern one officer: remembered per stream, looked up once per alert."""

    def __init__(self, store: AlertReads, officer_id: str) -> None:
        self._store, self._me = store, officer_id
        self._alerts: dict[str, bool] = {}      # alert id -> sent to me
        self._incidents: dict[str, bool] = {}   # incident id -> an alert of it was sent to me

    async def _alert_mine(self, alert_id: str) -> bool:
        if alert_id not in self._alerts:
            alert = await self._store.get_alert(alert_id)
            self._alerts[alert_id] = alert is not None and self._me in alert.recipients
            if self._alerts[alert_id] and alert is not None:
                self._incidents[alert.incident_id] = True
        return self._alerts[alert_id]

    async def _incident_mine(self, incident_id: str) -> bool:
        # Looked up once per stream (a resumed stream has not seen the alert itself).
        if incident_id not in self._incidents:
            alerts = await self._store.list_alerts(incident_id)
            self._incidents[incident_id] = any(self._me in a.recipients for a in alerts)
        return self._incidents[incident_id]

    async def shown(self, e: Event) -> dict[str, Any] | None:
        """The event as this officer sees it, or None if it does not concern them."""
        if e.kind == "device_moved":     # one of my push tokens now alerts someone else
            if e.data.get("officer_id") != self._me:
                return None
        elif e.alert_id is not None:
            if not await self._alert_mine(e.alert_id):
                return None
        elif e.incident_id is None or not await self._incident_mine(e.incident_id):
            return None
        return {"id": e.id, "kind": e.kind, "at": e.at, "incident_id": e.incident_id,
                "alert_id": e.alert_id, "actor": e.actor,
                "data": {k: v for k, v in e.data.items() if k in SHOWN}}


async def my_events(request: web.Request) -> web.StreamResponse:
    """Stream the events that concern the caller after the given id, then new ones."""
    after = resume_from(request)
    view = OfficerView(request.app[keys.STORE], principal_of(request).sub)
    response = await open_stream(request, "bluelight officer events")
    clients = request.app[keys.METRICS].sse_clients
    clients.inc()
    try:
        idle = 0
        async for batch in request.app[keys.FEED].follow(after):
            chunk = []
            for e in batch:
                shown = await view.shown(e)
                if shown is not None:
                    chunk.append(f"id: {e.id}\nevent: {e.kind}\ndata: "
                                 f"{json.dumps(shown, default=json_default)}\n\n")
            if chunk:
                idle = 0
                await response.write("".join(chunk).encode())
            elif not batch:
                idle += 1
                if idle >= HEARTBEAT_EVERY:
                    idle = 0
                    await response.write(b": keep-alive\n\n")
    finally:
        clients.dec()
    return response


ROUTES = [Route("GET", "/v1/me/events", my_events, OFFICER)]
