"""Handlers for /v1/officers (admin, control room) and /v1/me (the officer's own app)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web

from .. import keys
from ..auth import TokenVerifier
from ..domain.errors import FieldError, ValidationFailed
from ..domain.model import (
    Device,
    LocationFix,
    Officer,
    OfficerProfile,
    OfficerStatus,
    Platform,
    Rank,
)
from ..domain.times import parse_time
from .auth import principal_of
from .io import json_response, read_json
from .routing import ADMIN, CONTROL, OFFICER, Route

SESSION_TTL_S = 14 * 3600   # a long shift; the session's end refuses it sooner
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9:_.\-]{8,4096}$")


def officer_json(o: Officer, now: datetime) -> dict[str, Any]:
    """The API shape of an officer, with the age of the last fix."""
    loc = o.location
    location = None if loc is None else {
        "lat": loc.lat, "lon": loc.lon, "accuracy_m": loc.accuracy_m,
        "recorded_at": loc.recorded_at,
        "age_s": round(max(0.0, (now - loc.recorded_at).total_seconds()), 1)}
    p = o.profile
    return {"id": p.id, "name": p.name, "callsign": p.callsign, "rank": p.rank.value,
            "neighbourhood_ids": list(p.neighbourhood_ids), "on_duty": o.on_duty,
            "duty_changed_at": o.duty_changed_at, "location": location,
            "status": o.status.value, "status_incident_id": o.status_incident_id,
            "status_age_s": None if o.status_at is None
            else round(max(0.0, (now - o.status_at).total_seconds()), 1),
            "device_count": o.device_count, "session_id": o.session_id,
            "created_at": o.created_at,
            "updated_at": o.updated_at}


def device_json(d: Device) -> dict[str, Any]:
    """The API shape of a registered device."""
    return {"token": d.token, "platform": d.platform.value, "registered_at": d.registered_at}


async def put_officer(request: web.Request) -> web.Response:
    """Create or update an officer's profile."""
    body = await read_json(request)
    profile = OfficerProfile(id=request.match_info["id"], name=body["name"].strip(),
                             callsign=body["callsign"].strip(),
                             rank=Rank(body.get("rank", "officer")),
                             neighbourhood_ids=tuple(dict.fromkeys(
                                 body.get("neighbourhood_ids", []))))
    now = request.app[keys.CLOCK].now()
    officer, created = await request.app[keys.OFFICERS].put(profile, now)
    return json_response(officer_json(officer, now), 201 if created else 200)


async def get_officer(request: web.Request) -> web.Response:
    """One officer."""
    officer = await request.app[keys.OFFICERS].get(request.match_info["id"])
    return json_response(officer_json(officer, request.app[keys.CLOCK].now()))


async def list_officers(request: web.Request) -> web.Response:
    """All officers with duty state and last location."""
    now = request.app[keys.CLOCK].now()
    items = await request.app[keys.OFFICERS].list_all()
    return json_response({"items": [officer_json(o, now) for o in items], "count": len(items)})


async def get_me(request: web.Request) -> web.Response:
    """The calling officer's own record and devices."""
    sub = principal_of(request).sub
    service = request.app[keys.OFFICERS]
    officer = await service.get(sub)
    devices = await service.devices(sub)
    return json_response({**officer_json(officer, request.app[keys.CLOCK].now()),
                          "devices": [device_json(d) for d in devices]})


async def put_duty(request: web.Request) -> web.Response:
    """Go on or off duty. On duty with the embedded auth, the answer carries a token bound
    to the session (it is refused once the session ends)."""
    body = await read_json(request)
    now = request.app[keys.CLOCK].now()
    who = principal_of(request)
    officer = await request.app[keys.OFFICERS].set_duty(who.sub, body["on_duty"], now)
    data = officer_json(officer, now)
    verifier = request.app[keys.VERIFIER]
    if officer.session_id is not None and isinstance(verifier, TokenVerifier):
        data["session_token"] = verifier.issue(who, now, SESSION_TTL_S, officer.session_id)
    return json_response(data)


async def end_session(request: web.Request) -> web.Response:
    """An admin ends an officer's duty session (a lost phone, a shift that was not closed)."""
    now = request.app[keys.CLOCK].now()
    officer = await request.app[keys.OFFICERS].set_duty(request.match_info["id"], False, now)
    return json_response(officer_json(officer, now))


async def put_status(request: web.Request) -> web.Response:
    """Say what you are doing: available, on_scene or unavailable."""
    body = await read_json(request)
    now = request.app[keys.CLOCK].now()
    officer = await request.app[keys.OFFICERS].set_status(
        principal_of(request).sub, OfficerStatus(body["status"]), now)
    return json_response(officer_json(officer, now))


async def put_location(request: web.Request) -> web.Response:
    """Report a location fix; one older than the stored fix is ignored."""
    body = await read_json(request)
    now = request.app[keys.CLOCK].now()
    recorded = body.get("recorded_at")
    fix = LocationFix(lat=float(body["lat"]), lon=float(body["lon"]),
                      accuracy_m=body.get("accuracy_m"),
                      recorded_at=now if recorded is None else parse_time(recorded,
                                                                          "recorded_at"))
    officer, applied = await request.app[keys.OFFICERS].update_location(
        principal_of(request).sub, fix, now)
    return json_response({"applied": applied, "location": officer_json(officer, now)["location"]})


def _token(request: web.Request) -> str:
    token = request.match_info["token"]
    if not TOKEN_PATTERN.match(token):
        raise ValidationFailed("invalid device token", errors=[FieldError(
            "token", "8-4096 characters: letters, digits and : _ . -")])
    return token


async def put_device(request: web.Request) -> web.Response:
    """Register a push token for the calling officer (moving it from anyone else)."""
    token = _token(request)
    body = await read_json(request)
    service = request.app[keys.OFFICERS]
    sub = principal_of(request).sub
    had_it = any(d.token == token for d in await service.devices(sub))
    device, _ = await service.register_device(sub, token, Platform(body["platform"]),
                                              request.app[keys.CLOCK].now())
    return json_response(device_json(device), 200 if had_it else 201)


async def delete_device(request: web.Request) -> web.Response:
    """Unregister one of the calling officer's push tokens."""
    await request.app[keys.OFFICERS].remove_device(principal_of(request).sub, _token(request))
    return web.Response(status=204)


ROUTES = [
    Route("GET", "/v1/officers", list_officers, CONTROL),
    Route("PUT", "/v1/officers/{id}", put_officer, ADMIN),
    Route("GET", "/v1/officers/{id}", get_officer, CONTROL),
    Route("GET", "/v1/me", get_me, OFFICER),
    Route("PUT", "/v1/me/duty", put_duty, OFFICER),
    Route("DELETE", "/v1/officers/{id}/session", end_session, ADMIN),
    Route("PUT", "/v1/me/status", put_status, OFFICER),
    Route("PUT", "/v1/me/location", put_location, OFFICER),
    Route("PUT", "/v1/me/devices/{token}", put_device, OFFICER),
    Route("DELETE", "/v1/me/devices/{token}", delete_device, OFFICER),
]
