"""MongoDB collections of the alert loop, without multi-document transactions.

mongomock (CI) has no transactions, and a transaction would tie us to a replica set. So each
multi-document change is ordered so that a crash between two writes is harmless or repaired:
- ingest: the report is inserted first (the unique index makes it exactly once), with no
  incident; then the incident is written under its version guard; then the report gets its
  incident id. A crash in between leaves a report without an incident, which the sweep finds
  (`orphan_reports`) and groups (`attach_report`).
- transitions: new alerts are inserted first (unreferenced until the guard passes, and
  removed if it fails); then the incident is written with find_one_and_update on its version
  (the one atomic claim: one winner per acknowledgement, one performer per step); then
  updates of existing alerts and the events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from ...domain.records import Alert, AlertStatus, Delivery, Event, Incident, IncidentStatus, Report
from ...domain.transitions import IngestPlan, Transition
from ..codec import from_doc, to_doc
from .base import MongoBase

MAX_GROUP_ATTEMPTS = 10


def _doc(obj: Any) -> dict[str, Any]:
    doc = to_doc(obj)
    doc["_id"] = doc["id"]
    return doc


class AlertingCollections(MongoBase):
    """Reports, incidents (versioned), alerts, deliveries and the event log."""

    async def _add_events(self, events: Sequence[Event]) -> None:
        for e in events:
            # Ids come from a counter so streams can resume; see EventFeed for late inserts.
            seq = await self.next_seq("events")
            await self.col("events").insert_one({**to_doc(replace(e, id=seq)), "_id": seq})

    async def ingest_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None,
                            ) -> tuple[Report, Incident | None, IngestPlan | None]:
        """Insert the report once, then group it (see the module docstring for the order)."""
        existing = await self._existing(report)
        if existing is not None:
            return existing
        try:
            await self.col("reports").insert_one(_doc(replace(report, incident_id=None)))
        except DuplicateKeyError:  # a concurrent copy won the unique index
            again = await self._existing(report)
            assert again is not None
            return again
        decided = await self.attach_report(report, window_start, plan, categories)
        return replace(report, incident_id=decided.incident.id), decided.incident, decided

    async def _existing(self, report: Report) -> tuple[Report, Incident | None, None] | None:
        doc = await self.col("reports").find_one({"source": report.source,
                                                  "external_id": report.external_id})
        if doc is None:
            return None
        stored = from_doc(Report, doc)
        incident = None if stored.incident_id is None else await self.get_incident(
            stored.incident_id)
        return stored, incident, None

    async def attach_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None) -> IngestPlan:
        """Group a stored report: write its incident under the version guard, retrying."""
        query: dict[str, Any] = {"neighbourhood_id": report.neighbourhood_id,
                                 "status": {"$ne": IncidentStatus.RESOLVED.value},
                                 "last_seen_at": {"$gte": window_start.timestamp()}}
        if categories is not None:
            query["category"] = {"$in": list(categories)}
        for _ in range(MAX_GROUP_ATTEMPTS):
            docs = await self.col("incidents").find(query).sort(
                    "last_seen_at", -1).limit(200).to_list(None)
            decided = plan([from_doc(Incident, d) for d in docs])
            if decided.created:
                await self.col("incidents").insert_one(_doc(decided.incident))
            else:
                bumped = replace(decided.incident, version=decided.incident.version + 1)
                won = await self.col("incidents").find_one_and_update(
                    {"_id": bumped.id, "version": decided.incident.version},
                    {"$set": _doc(bumped)})
                if won is None:
                    continue  # someone changed the incident since we read it: re-plan
                decided = replace(decided, incident=bumped)
            await self.col("reports").update_one(
                {"_id": report.id}, {"$set": {"incident_id": decided.incident.id}})
            await self._add_events(decided.events)
            return decided
        raise RuntimeError(f"report {report.id}: grouping lost {MAX_GROUP_ATTEMPTS} races; "
                           "the sweep will group it")

    async def orphan_reports(self, received_before: datetime) -> list[Report]:
        """Reports a crash left without an incident."""
        docs = await self.col("reports").find({
            "incident_id": None, "received_at": {"$lt": received_before.timestamp()}}).limit(
                100).to_list(None)
        return [from_doc(Report, d) for d in docs]

    async def commit_transition(self, t: Transition) -> bool:
        """Apply if the stored version equals t.incident.version (the atomic claim)."""
        ids = [a.id for a in t.alerts]
        known = {d["_id"] async for d in self.col("alerts").find({"_id": {"$in": ids}},
                                                                  {"_id": 1})}
        fresh = [a for a in t.alerts if a.id not in known]
        if fresh:
            await self.col("alerts").insert_many([_doc(a) for a in fresh])
        new = replace(t.incident, version=t.incident.version + 1)
        won = await self.col("incidents").find_one_and_update(
            {"_id": new.id, "version": t.incident.version}, {"$set": _doc(new)})
        if won is None:
            if fresh:
                await self.col("alerts").delete_many({"_id": {"$in": [a.id for a in fresh]}})
            return False
        for a in t.alerts:
            if a.id in known:
                await self.col("alerts").replace_one({"_id": a.id}, _doc(a))
        await self._add_events(t.events)
        return True

    async def get_report(self, rid: str) -> Report | None:
        """One report."""
        doc = await self.col("reports").find_one({"_id": rid})
        return None if doc is None else from_doc(Report, doc)

    async def list_reports(self, incident_id: str, limit: int = 500) -> list[Report]:
        """An incident's reports, oldest first."""
        docs = await self.col("reports").find({"incident_id": incident_id}).sort(
            [("received_at", 1), ("_id", 1)]).limit(limit).to_list(None)
        return [from_doc(Report, d) for d in docs]

    async def find_reports(self, *, source: str | None = None, since: datetime | None = None,
                           before_id: str | None = None, limit: int = 50) -> list[Report]:
        """Reports newest first (ids sort by time); `before_id` pages on."""
        query: dict[str, Any] = {}
        if source is not None:
            query["source"] = source
        if before_id is not None:
            query["_id"] = {"$lt": before_id}
        if since is not None:
            query["received_at"] = {"$gte": since.timestamp()}
        docs = await self.col("reports").find(query).sort("_id", -1).limit(limit).to_list(None)
        return [from_doc(Report, d) for d in docs]

    async def get_incident(self, iid: str) -> Incident | None:
        """One incident."""
        doc = await self.col("incidents").find_one({"_id": iid})
        return None if doc is None else from_doc(Incident, doc)

    async def list_incidents(self, *, status: str | None = None, priority: str | None = None,
                             neighbourhood_id: str | None = None, since: datetime | None = None,
                             before_id: str | None = None, limit: int = 50) -> list[Incident]:
        """Incidents newest first, filtered and paged."""
        query: dict[str, Any] = {}
        for key, value in (("status", status), ("priority", priority),
                           ("neighbourhood_id", neighbourhood_id)):
            if value is not None:
                query[key] = value
        if before_id is not None:
            query["_id"] = {"$lt": before_id}
        if since is not None:
            query["last_seen_at"] = {"$gte": since.timestamp()}
        docs = await self.col("incidents").find(query).sort("_id", -1).limit(limit).to_list(None)
        return [from_doc(Incident, d) for d in docs]

    async def due_steps(self, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
        """(incident id, step_seq) of every step whose deadline has passed."""
        docs = await self.col("incidents").find(
            {"next_step_at": {"$ne": None, "$lte": now.timestamp()}},
            {"step_seq": 1}).sort("next_step_at", 1).limit(limit).to_list(None)
        return [(d["_id"], d["step_seq"]) for d in docs]

    async def pending_steps(self) -> list[tuple[str, int, datetime]]:
        """Every scheduled step."""
        docs = await self.col("incidents").find({"next_step_at": {"$ne": None}}).to_list(None)
        found = [from_doc(Incident, d) for d in docs]
        return [(i.id, i.step_seq, i.next_step_at) for i in found if i.next_step_at]

    async def escalation_queue(self) -> list[Incident]:
        """Escalated incidents not yet taken, oldest first."""
        docs = await self.col("incidents").find(
            {"status": IncidentStatus.ESCALATED.value, "taken_by": None}).sort(
                [("escalated_at", 1), ("_id", 1)]).to_list(None)
        return [from_doc(Incident, d) for d in docs]

    async def get_alert(self, aid: str) -> Alert | None:
        """One alert."""
        doc = await self.col("alerts").find_one({"_id": aid})
        return None if doc is None else from_doc(Alert, doc)

    async def list_alerts(self, incident_id: str) -> list[Alert]:
        """An incident's alerts, oldest first."""
        docs = await self.col("alerts").find({"incident_id": incident_id}).sort(
            "_id", 1).to_list(None)
        return [from_doc(Alert, d) for d in docs]

    async def open_alerts_for(self, officer_id: str) -> list[Alert]:
        """Pending alerts sent to this officer."""
        docs = await self.col("alerts").find(
            {"recipients": officer_id, "status": AlertStatus.PENDING.value}).sort(
                "_id", 1).to_list(None)
        return [from_doc(Alert, d) for d in docs]

    async def pending_alerts(self, limit: int = 200) -> list[Alert]:
        """Alerts still waiting for an acknowledgement, oldest first."""
        docs = await self.col("alerts").find({"status": AlertStatus.PENDING.value}).sort(
            "_id", 1).limit(limit).to_list(None)
        return [from_doc(Alert, d) for d in docs]

    async def put_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Insert or replace delivery records."""
        for d in deliveries:
            await self.col("deliveries").replace_one({"_id": d.id}, _doc(d), upsert=True)

    async def list_deliveries(self, alert_ids: Sequence[str]) -> list[Delivery]:
        """Deliveries of these alerts."""
        if not alert_ids:
            return []
        docs = await self.col("deliveries").find({"alert_id": {"$in": list(alert_ids)}}).sort(
            "_id", 1).to_list(None)
        return [from_doc(Delivery, d) for d in docs]

    async def add_events(self, events: Sequence[Event]) -> None:
        """Append events."""
        await self._add_events(events)

    async def last_event_id(self) -> int:
        """The newest event's id (0 when there are none)."""
        doc = await self.col("events").find_one({}, sort=[("_id", -1)], projection={"_id": 1})
        return 0 if doc is None else int(doc["_id"])

    async def events_after(self, after_id: int, *, limit: int = 500,
                           incident_id: str | None = None) -> list[Event]:
        """Events with id > after_id, oldest first."""
        query: dict[str, Any] = {"_id": {"$gt": after_id}}
        if incident_id is not None:
            query["incident_id"] = incident_id
        docs = await self.col("events").find(query).sort("_id", 1).limit(limit).to_list(None)
        return [from_doc(Event, d) for d in docs]
