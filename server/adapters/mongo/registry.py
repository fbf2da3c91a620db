"""MongoDB collections for neighbourhoods, officers and devices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ...domain.errors import Busy, DeviceInUse
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
from .base import MongoBase


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _officer(doc: dict[str, Any], devices: int) -> Officer:
    location = None
    if doc.get("location_at") is not None:
        location = LocationFix(lat=doc["lat"], lon=doc["lon"], accuracy_m=doc.get("accuracy_m"),
                               recorded_at=datetime.fromtimestamp(doc["location_at"], UTC))
    profile = OfficerProfile(id=doc["_id"], name=doc["name"], callsign=doc["callsign"],
                             rank=Rank(doc["rank"]),
                             neighbourhood_ids=tuple(doc["neighbourhood_ids"]))
    return Officer(profile=profile, on_duty=bool(doc.get("on_duty")),
                   duty_changed_at=_dt(doc.get("duty_changed_at")), location=location,
                   created_at=_dt(doc.get("created_at")), updated_at=_dt(doc.get("updated_at")),
                   device_count=devices,
                   status=OfficerStatus(doc.get("status", OfficerStatus.AVAILABLE.value)),
                   status_at=_dt(doc.get("status_at")),
                   status_incident_id=doc.get("status_incident_id"),
                   session_id=doc.get("session_id"))


def _device(doc: dict[str, Any]) -> Device:
    return Device(token=doc["_id"], officer_id=doc["officer_id"],
                  platform=Platform(doc["platform"]),
                  registered_at=datetime.fromtimestamp(doc["registered_at"], UTC))


class RegistryCollections(MongoBase):
    """Neighbourhoods (with a change counter), officers and their devices."""

    async def put_neighbourhoods(self, items: Sequence[Neighbourhood]) -> list[bool]:
        """Upsert each; created_at is only set on insert. Then bump the change counter."""
        created = []
        for n in items:
            ts = None if n.updated_at is None else n.updated_at.timestamp()
            result = await self.col("neighbourhoods").update_one(
                {"_id": n.id},
                {"$set": {"name": n.name, "places": list(n.places), "geometry": n.geometry,
                          "area_m2": n.area_m2, "updated_at": ts},
                 "$setOnInsert": {"created_at": ts}}, upsert=True)
            created.append(result.upserted_id is not None)
        if items:
            await self.col("counters").update_one({"_id": "neighbourhoods"},
                                                  {"$inc": {"value": 1}}, upsert=True)
        return created

    def _hood(self, doc: dict[str, Any]) -> Neighbourhood:
        return Neighbourhood(id=doc["_id"], name=doc["name"], places=tuple(doc["places"]),
                             geometry=doc.get("geometry", {}), area_m2=doc["area_m2"],
                             created_at=_dt(doc["created_at"]), updated_at=_dt(doc["updated_at"]))

    async def get_neighbourhood(self, nid: str) -> Neighbourhood | None:
        """One neighbourhood."""
        doc = await self.col("neighbourhoods").find_one({"_id": nid})
        return None if doc is None else self._hood(doc)

    async def list_neighbourhoods(self, *, with_geometry: bool = True) -> list[Neighbourhood]:
        """All neighbourhoods ordered by id."""
        projection = None if with_geometry else {"geometry": 0}
        docs = await self.col("neighbourhoods").find({}, projection).sort("_id", 1).to_list(None)
        return [self._hood(d) for d in docs]

    async def delete_neighbourhood(self, nid: str) -> bool:
        """Delete one and bump the change counter."""
        result = await self.col("neighbourhoods").delete_one({"_id": nid})
        if result.deleted_count:
            await self.col("counters").update_one({"_id": "neighbourhoods"},
                                                  {"$inc": {"value": 1}})
        return bool(result.deleted_count)

    async def neighbourhoods_version(self) -> int:
        """The neighbourhood change counter."""
        doc = await self.col("counters").find_one({"_id": "neighbourhoods"})
        return 0 if doc is None else int(doc["value"])

    async def _count_devices(self, sessions: dict[str, str | None]) -> dict[str, int]:
        """Devices in each officer's current session (officer id -> session id)."""
        counts: dict[str, int] = {}
        async for d in self.col("devices").find({"officer_id": {"$in": list(sessions)}},
                                                {"officer_id": 1, "session_id": 1}):
            oid = d["officer_id"]
            if d.get("session_id") is not None and d.get("session_id") == sessions[oid]:
                counts[oid] = counts.get(oid, 0) + 1
        return counts

    async def _officers(self, query: dict[str, Any]) -> list[Officer]:
        docs = await self.col("officers").find(query).sort("_id", 1).to_list(None)
        counts = await self._count_devices({d["_id"]: d.get("session_id") for d in docs})
        return [_officer(d, counts.get(d["_id"], 0)) for d in docs]

    async def put_officer(self, profile: OfficerProfile, now: datetime) -> tuple[Officer, bool]:
        """Upsert the profile fields only, so duty and location survive an edit."""
        result = await self.col("officers").update_one(
            {"_id": profile.id},
            {"$set": {"name": profile.name, "callsign": profile.callsign,
                      "rank": profile.rank.value,
                      "neighbourhood_ids": list(profile.neighbourhood_ids),
                      "updated_at": now.timestamp()},
             "$setOnInsert": {"created_at": now.timestamp(), "on_duty": False}}, upsert=True)
        [officer] = await self._officers({"_id": profile.id})
        return officer, result.upserted_id is not None

    async def get_officer(self, oid: str) -> Officer | None:
        """One officer."""
        found = await self._officers({"_id": oid})
        return found[0] if found else None

    async def list_officers(self) -> list[Officer]:
        """All officers ordered by id."""
        return await self._officers({})

    async def set_duty(self, oid: str, on_duty: bool, now: datetime,
                       session_id: str | None = None) -> Officer | None:
        """Set duty state, opening or ending the session; the change time moves only when
        the state changes."""
        result = await self.col("officers").update_one(
            {"_id": oid, "on_duty": {"$ne": on_duty}},
            {"$set": {"on_duty": on_duty, "duty_changed_at": now.timestamp(),
                      "session_id": session_id if on_duty else None}})
        if result.modified_count and on_duty:
            await self.col("devices").update_many({"officer_id": oid, "session_id": None},
                                                  {"$set": {"session_id": session_id}})
        return await self.get_officer(oid)

    async def set_status(self, oid: str, status: OfficerStatus, incident_id: str | None,
                         now: datetime, *, only_if_incident: str | None = None
                         ) -> Officer | None:
        """Set an officer's status; with `only_if_incident`, only if they are still on that
        incident (clearing never undoes a newer commitment)."""
        query: dict[str, Any] = {"_id": oid}
        if only_if_incident is not None:
            query["status_incident_id"] = only_if_incident
        await self.col("officers").update_one(query, {"$set": {
            "status": status.value, "status_at": now.timestamp(),
            "status_incident_id": incident_id}})
        return await self.get_officer(oid)

    async def update_location(self, oid: str, fix: LocationFix) -> tuple[Officer | None, bool]:
        """Conditional update: only a fix newer than the stored one is applied."""
        ts = fix.recorded_at.timestamp()
        result = await self.col("officers").update_one(
            {"_id": oid, "$or": [{"location_at": None}, {"location_at": {"$lt": ts}}]},
            {"$set": {"lat": fix.lat, "lon": fix.lon, "accuracy_m": fix.accuracy_m,
                      "location_at": ts}})
        return await self.get_officer(oid), bool(result.modified_count)

    async def put_device(self, device: Device) -> str | None:
        """Register a token (moving it from whoever had it, but never out of another
        officer's current duty session); the previous owner."""
        owner = await self.col("officers").find_one({"_id": device.officer_id},
                                                    {"session_id": 1})
        held = await self.col("devices").find_one({"_id": device.token})
        if held is not None and held["officer_id"] != device.officer_id:
            holder = await self.col("officers").find_one({"_id": held["officer_id"]},
                                                         {"session_id": 1})
            if held.get("session_id") and held.get("session_id") == (holder or {}).get(
                    "session_id"):
                raise DeviceInUse()
        # Write only over the record just checked: a concurrent move makes this one retry.
        match = ({"_id": device.token} if held is None else
                 {"_id": device.token, "officer_id": held["officer_id"],
                  "session_id": held.get("session_id")})
        try:
            before = await self.col("devices").find_one_and_update(
                match,
                {"$set": {"officer_id": device.officer_id, "platform": device.platform.value,
                          "registered_at": device.registered_at.timestamp(),
                          "session_id": (owner or {}).get("session_id")}},
                upsert=held is None, return_document=ReturnDocument.BEFORE)
        except DuplicateKeyError as exc:
            raise Busy("the device was registered at the same moment; retry") from exc
        if held is not None and before is None:
            raise Busy("the device was registered at the same moment; retry")
        return None if held is None else str(held["officer_id"])

    async def delete_device(self, oid: str, token: str) -> bool:
        """Remove an officer's token."""
        result = await self.col("devices").delete_one({"_id": token, "officer_id": oid})
        return bool(result.deleted_count)

    async def list_devices(self, oid: str) -> list[Device]:
        """An officer's devices, oldest first."""
        docs = await self.col("devices").find({"officer_id": oid}).sort(
            [("registered_at", 1), ("_id", 1)]).to_list(None)
        return [_device(d) for d in docs]

    async def on_duty_officers(self, fresh_since: datetime) -> list[Officer]:
        """Officers on duty with a fix at or after `fresh_since`."""
        return await self._officers({"on_duty": True,
                                     "location_at": {"$gte": fresh_since.timestamp()}})

    async def devices_for(self, officer_ids: Sequence[str]) -> list[Device]:
        """Every device of these officers."""
        if not officer_ids:
            return []
        sessions = {o["_id"]: o.get("session_id") async for o in self.col("officers").find(
            {"_id": {"$in": list(officer_ids)}}, {"session_id": 1})}
        docs = await self.col("devices").find({"officer_id": {"$in": list(officer_ids)}}).sort(
            [("officer_id", 1), ("_id", 1)]).to_list(None)
        return [_device(d) for d in docs if d.get("session_id") is not None
                and d.get("session_id") == sessions.get(d["officer_id"])]

    async def forget_token(self, token: str) -> bool:
        """Remove a dead token, whoever has it."""
        result = await self.col("devices").delete_one({"_id": token})
        return bool(result.deleted_count)
