"""MongoDB collections of the alert loop, without multi-document transactions.

mongomock (CI) has no transactions, and a transaction would tie us to a replica set. So each
multi-document change is ordered so that a crash between two writes is harmless or repaired:
- ingest: the report is inserted first (the unique index makes it exactly once), with no
  incident; then the incident is written under its version guard; then the report gets its
  incident id. A crash in between leaves a report without an incident, which the sweep finds
  (`orphan_reports`) and groups (`attach_report`).
- transitions: the claim (a guarded update of the incident on its version) records the whole
  transition on the incident; its alerts and events are then replayed idempotently (see
  intents.py). The readers below settle a pending transition before they answer: the
  incident and alert reads every decision starts from (so an acknowledgement never sees a
  claimed incident with its alert still pending), and the sweep's queries (`due_steps`,
  `pending_alerts`), which finish what a crashed or cancelled writer left; `open` finishes
  them all. `events_after` does not: live streams poll it, and a follower finishing a live
  writer's transition would race it for event ids (a gap every stream then waits out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from ...domain.grouping import Box
from ...domain.records import Alert, AlertStatus, Delivery, Event, Incident, IncidentStatus, Report
from ...domain.transitions import IngestPlan
from ...ports.ingest import IngestItem, Stored
from ...security.hashchain import AuditEntry
from ..codec import from_doc, to_doc
from .intents import PENDING, REPAIR_BATCH, TransitionIntents
from .security import append_audit_doc

MAX_GROUP_ATTEMPTS = 10


def _doc(obj: Any) -> dict[str, Any]:
    doc = to_doc(obj)
    doc["_id"] = doc["id"]
    return doc


class AlertingCollections(TransitionIntents):
    """Reports, incidents (versioned), alerts, deliveries and the event log."""

    async def open(self) -> None:
        """Indexes, then finish every transition a dead process left half applied."""
        await super().open()
        while await self.repair_transitions(force=True) == REPAIR_BATCH:
            pass

    async def _add_events(self, events: Sequence[Event]) -> None:
        for e in events:
            # Ids come from a counter so streams can resume; see EventFeed for late inserts.
            seq = await self.next_seq("events")
            await self.col("events").insert_one({**to_doc(replace(e, id=seq)), "_id": seq})

    async def ingest_report(self, report: Report, window_start: datetime,
                            plan: Callable[[list[Incident]], IngestPlan],
                            categories: Sequence[str] | None = None,
                            audit: Callable[[bool], AuditEntry] | None = None,
                            near: Box | None = None,
                            ) -> tuple[Report, Incident | None, IngestPlan | None]:
        """Insert the report once, then group it (see the module docstring for the order);
        the audit entry follows (MongoDB writes here are not one transaction anyway).
        `near` is not used: the grouping query reads every candidate, as before."""
        done = await self._ingest(report, window_start, plan, categories)
        if audit is not None:
            await append_audit_doc(self, audit(done[2] is not None))
        return done

    async def ingest_reports(self, items: Sequence[IngestItem]) -> list[Stored | Exception]:
        """ingest_report for each item, one after the other (a later post may join an
        incident an earlier one opened); each item's outcome or its own exception."""
        outcomes: list[Stored | Exception] = []
        for i in items:
            try:
                outcomes.append(await self._ingest(i.report, i.window_start, i.plan,
                                                   i.categories))
            except Exception as exc:   # this post's problem: the others go on
                outcomes.append(exc)
        return outcomes

    async def _ingest(self, report: Report, window_start: datetime,
                      plan: Callable[[list[Incident]], IngestPlan],
                      categories: Sequence[str] | None,
                      ) -> tuple[Report, Incident | None, IngestPlan | None]:
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
        if doc is None:
            return None
        if "intent" in doc:   # its fields are claimed already; its alerts must be too
            await self._settle(iid, doc["intent"])
        return from_doc(Incident, doc)

    async def get_incidents(self, ids: Sequence[str]) -> list[Incident]:
        """Several incidents in one query, each settled as get_incident settles one."""
        docs = await self.col("incidents").find({"_id": {"$in": list(ids)}}).to_list(None)
        for doc in docs:
            if "intent" in doc:
                await self._settle(doc["_id"], doc["intent"])
        found = {d["_id"]: from_doc(Incident, d) for d in docs}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

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
        await self.repair_transitions()   # the sweep calls this: finish what a crash left
        docs = await self.col("incidents").find(
            {"next_step_at": {"$ne": None, "$lte": now.timestamp()}},
            {"step_seq": 1}).sort("next_step_at", 1).limit(limit).to_list(None)
        return [(d["_id"], d["step_seq"]) for d in docs]

    async def pending_steps(self) -> list[tuple[str, int, datetime]]:
        """Every scheduled step."""
        await self.repair_transitions()
        docs = await self.col("incidents").find({"next_step_at": {"$ne": None}}, {
            "step_seq": 1, "next_step_at": 1}).to_list(None)
        return [(d["_id"], d["step_seq"], datetime.fromtimestamp(d["next_step_at"], UTC))
                for d in docs]

    async def escalation_queue(self) -> list[Incident]:
        """Escalated incidents not yet taken, oldest first."""
        await self.repair_transitions()
        docs = await self.col("incidents").find(
            {"status": IncidentStatus.ESCALATED.value, "taken_by": None}).sort(
                [("escalated_at", 1), ("_id", 1)]).to_list(None)
        return [from_doc(Incident, d) for d in docs]

    async def get_alert(self, aid: str) -> Alert | None:
        """One alert, as its incident's last claimed transition left it."""
        doc = await self.col("alerts").find_one({"_id": aid})
        # The alert's incident, or (a new alert not written yet) the incident whose pending
        # transition creates it.
        owner = ({"_id": doc["incident_id"]} if doc is not None
                 else {"intent.alerts._id": aid})
        pending = await self.col("incidents").find_one({**PENDING, **owner}, {"intent": 1})
        if pending is not None:
            await self._settle(pending["_id"], pending["intent"])
            doc = await self.col("alerts").find_one({"_id": aid})
        return None if doc is None else from_doc(Alert, doc)

    async def list_alerts(self, incident_id: str) -> list[Alert]:
        """An incident's alerts, oldest first."""
        await self.settle_incident(incident_id)
        docs = await self.col("alerts").find({"incident_id": incident_id}).sort(
            "_id", 1).to_list(None)
        return [from_doc(Alert, d) for d in docs]

    async def list_alerts_of(self, incident_ids: Sequence[str]) -> dict[str, list[Alert]]:
        """Several incidents' alerts in one query, after settling those with an intent
        pending (as list_alerts settles one)."""
        found: dict[str, list[Alert]] = {i: [] for i in incident_ids}
        pending = await self.col("incidents").find(
            {"_id": {"$in": list(found)}, **PENDING}, {"intent": 1}).to_list(None)
        for doc in pending:
            await self._settle(doc["_id"], doc["intent"])
        docs = await self.col("alerts").find({"incident_id": {"$in": list(found)}}).sort(
            "_id", 1).to_list(None)
        for d in docs:
            found[d["incident_id"]].append(from_doc(Alert, d))
        return found

    async def open_alerts_for(self, officer_id: str) -> list[Alert]:
        """Pending alerts sent to this officer."""
        await self.repair_transitions()
        docs = await self.col("alerts").find(
            {"recipients": officer_id, "status": AlertStatus.PENDING.value}).sort(
                "_id", 1).to_list(None)
        return [from_doc(Alert, d) for d in docs]

    async def pending_alerts(self, limit: int = 200) -> list[Alert]:
        """Alerts still waiting for an acknowledgement, oldest first."""
        await self.repair_transitions()   # the sweep's redelivery reads this
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
