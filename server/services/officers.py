"""Officer use cases: profiles (admin), and duty, location and devices (the officer's app)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from ..domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from ..domain.model import Device, LocationFix, Officer, OfficerProfile, OfficerStatus, Platform
from ..domain.neighbourhoods import check_id
from ..domain.records import Event, new_id
from ..ports import DeviceStore, EventLog, NeighbourhoodStore, OfficerStore

# Phones' clocks drift; a fix a little in the future is accepted, a far one is a bug.
MAX_FUTURE_SKEW = timedelta(seconds=60)


class OfficerServiceStore(OfficerStore, DeviceStore, NeighbourhoodStore, EventLog, Protocol):
    """Officers and their devices; neighbourhoods to check a profile against; the event log
    for what an officer's status or a moved device puts on a timeline."""


class OfficerService:
    """Stores officers and what their phones report."""

    def __init__(self, store: OfficerServiceStore) -> None:
        self._store = store

    async def put(self, profile: OfficerProfile, now: datetime) -> tuple[Officer, bool]:
        """Create or update a profile; every assigned neighbourhood must exist."""
        check_id(profile.id)
        missing = [nid for nid in profile.neighbourhood_ids
                   if await self._store.get_neighbourhood(nid) is None]
        if missing:
            raise ValidationFailed(
                "unknown neighbourhoods", errors=[
                    FieldError("neighbourhood_ids", f"neighbourhood {nid!r} does not exist")
                    for nid in missing])
        return await self._store.put_officer(profile, now)

    async def get(self, oid: str) -> Officer:
        """One officer or NotFound."""
        found = await self._store.get_officer(oid)
        if found is None:
            raise NotFound("officer", oid)
        return found

    async def list_all(self) -> list[Officer]:
        """All officers."""
        return await self._store.list_officers()

    async def set_duty(self, oid: str, on_duty: bool, now: datetime) -> Officer:
        """Go on duty (a new session, unless one is open) or off duty (the session ends:
        its devices are pushed no more and tokens issued for it are refused)."""
        found = await self._store.set_duty(oid, on_duty, now,
                                           new_id("dut", now) if on_duty else None)
        if found is None:
            raise NotFound("officer", oid)
        return found

    async def set_status(self, oid: str, status: OfficerStatus, now: datetime) -> Officer:
        """The officer says what they are doing. On scene needs an incident to be at (the
        one they acknowledged or were assigned); available clears it. Either is written on
        that incident's timeline."""
        officer = await self._store.get_officer(oid)
        if officer is None:
            raise NotFound("officer", oid)
        incident = officer.status_incident_id
        if status is OfficerStatus.COMMITTED:
            raise Conflict("committed is set by acknowledging or being assigned an alert",
                           code="status_not_settable")
        if status is OfficerStatus.ON_SCENE and incident is None:
            raise Conflict("on scene needs an incident: acknowledge an alert first",
                           code="no_incident")
        keep = incident if status is OfficerStatus.ON_SCENE else None
        updated = await self._store.set_status(oid, status, keep, now)
        if incident is not None and status is not officer.status:
            kind = {OfficerStatus.ON_SCENE: "on_scene", OfficerStatus.AVAILABLE: "cleared",
                    OfficerStatus.UNAVAILABLE: "cleared"}[status]
            await self._store.add_events([Event(kind, now, incident, actor=oid)])
        assert updated is not None
        return updated

    async def update_location(self, oid: str, fix: LocationFix,
                              now: datetime) -> tuple[Officer, bool]:
        """Store a fix unless a newer one is stored; (officer, applied)."""
        if fix.recorded_at > now + MAX_FUTURE_SKEW:
            raise ValidationFailed("recorded_at is in the future", errors=[FieldError(
                "recorded_at", "must not be more than 60 s ahead of the server clock")])
        found, applied = await self._store.update_location(oid, fix)
        if found is None:
            raise NotFound("officer", oid)
        return found, applied

    async def register_device(self, oid: str, token: str, platform: Platform,
                              now: datetime) -> tuple[Device, str | None]:
        """Register a push token to this officer, moving it from an officer whose session
        that token no longer belongs to (DeviceInUse otherwise). The old owner is told by a
        `device_moved` event on their stream; the move is on the audit log too."""
        await self.get(oid)
        device = Device(token=token, officer_id=oid, platform=platform, registered_at=now)
        previous = await self._store.put_device(device)
        if previous is None or previous == oid:
            return device, None
        await self._store.add_events([Event("device_moved", now, actor=oid, data={
            "officer_id": previous, "to": oid, "platform": platform.value})])
        return device, previous

    async def remove_device(self, oid: str, token: str) -> None:
        """Unregister a token; NotFound if this officer does not have it."""
        await self.get(oid)
        if not await self._store.delete_device(oid, token):
            raise NotFound("device", token)

    async def devices(self, oid: str) -> list[Device]:
        """An officer's devices."""
        await self.get(oid)
        return await self._store.list_devices(oid)
