"""Ingest: store each post once, place it, triage it, group it, and start the policy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..domain.errors import FieldError, ValidationFailed
from ..domain.follow_up import FollowUps
from ..domain.grouping import (
    GroupingRules,
    absorb,
    choose_incident,
    compatible_with,
    open_incident,
    reach,
)
from ..domain.records import Band, Category, Event, Incident, Report, new_id
from ..domain.sources import normalise_source
from ..domain.times import parse_time
from ..domain.transitions import IngestPlan
from ..domain.triage import PostContext
from ..heap import trim_heap
from ..ports import Clock, IngestItem, IngestStore
from ..ports.deferrable import deferrable
from ..ports.reports import ReportQueries
from ..security.hashchain import AuditEntry
from ..triage.triager import Triager
from .escalation import Escalation
from .feed import EventFeed
from .geofence import GeofenceService
from .warmup import Warmup

log = logging.getLogger(__name__)
# Restoring the authors followed up after a start reads at most this many reports of the
# window, this many a page: a day of a surge is more than a start-up should read.
RESTORE_AT_MOST = 50_000
RESTORE_PAGE = 500
# Connectors' clocks drift; a post stamped far in the future is stamped "now" instead.
MAX_FUTURE = timedelta(minutes=5)
# A report without an incident this long after it arrived was left by a crash mid-ingest.
ORPHAN_AFTER = timedelta(seconds=5)
# A batch triages this many posts, then lets the event loop serve others (~5 ms of CPU).
TRIAGE_SLICE = 20


class Unplaced:
    """No coordinates lookup done yet (None means one was done and found nothing)."""


UNPLACED = Unplaced()


@dataclass(frozen=True)
class Ingested:
    """The stored report, its incident, and whether this call stored it."""

    report: Report
    incident: Incident | None
    created: bool


class ReportService:
    """The ingest use case; one transaction stores the report and groups it."""

    def __init__(self, store: IngestStore, geofence: GeofenceService, triager: Triager,
                 grouping: GroupingRules, escalation: Escalation, feed: EventFeed,
                 clock: Clock) -> None:
        self._store, self._geofence = store, geofence
        self.triager = triager
        # Per process, read again from the store after a start (restore_follow_ups): a post
        # another instance took is not seen here (see README, Triage).
        self.follow_ups = FollowUps()
        # public: the app starts it after start-up
        self.warmup = Warmup(triager.warm, after=self._fill)
        self._grouping, self._escalation, self._feed, self._clock = (
            grouping, escalation, feed, clock)

    async def restore_follow_ups(self, store: ReportQueries, now: datetime,
                                 at_most: int = RESTORE_AT_MOST) -> int:
        """After a start: note again the authors whose posts of the last follow-up window
        alerted (the store's reports, newest first, at most `at_most` read). The number
        of authors followed."""
        rules = self.triager.rules.context
        if rules.follow_up is None:
            return 0
        since, before, read = now - rules.follow_up, None, 0
        while read < at_most:
            page = await store.find_reports(since=since, before_id=before, limit=RESTORE_PAGE)
            for report in page:
                if report.author:
                    self.follow_ups.note((report.source, report.author), report.triage,
                                         report.posted_at, rules.follow_up_categories,
                                         rules.follow_up)
            read += len(page)
            if len(page) < RESTORE_PAGE:
                break
            before = page[-1].id
        return len(self.follow_ups)

    def _fill(self) -> Iterator[None]:
        """The warm-up's second step, on the loop a step at a time. The load's freed
        buffers go back to the system first (~2 ms), so that the words made next reuse no
        memory start-up had at its peak."""
        trim_heap()
        yield
        yield from self.triager.fill()

    def _locate(self, body: dict[str, Any], placed: str | Unplaced | None = UNPLACED,
                ) -> tuple[str | None, str | None, str | None]:
        """(neighbourhood id, how it was found, the matched place) for a post; `placed` is
        its coordinates' neighbourhood when the caller looked them up already (a batch)."""
        loc = body.get("location")
        if loc is not None:
            nid = (self._geofence.locate(loc["lat"], loc["lon"])
                   if isinstance(placed, Unplaced) else placed)
            if nid is not None:
                return nid, "coordinates", None
        for field in ("place", "text"):
            if body.get(field):
                hit = self._geofence.gazetteer.match(body[field])
                if hit is not None:
                    return hit[0], field, hit[1]
        return None, None, None

    def _context(self, body: dict[str, Any], nid: str | None, age: timedelta,
                 follows: Category | None) -> PostContext:
        """What the connector told us besides the text, how far away the post is, and the
        author's recent concern."""
        ctx = body.get("context") or {}
        loc, box = body.get("location"), body.get("place_bbox")
        far = None
        if nid is None and loc is not None:
            far = self._geofence.distance_km(loc["lat"], loc["lon"])
        elif nid is None and box is not None:
            # Only a place (a city, a country) known: it is far if all of it is.
            far = self._geofence.box_distance_km(box["west"], box["south"], box["east"],
                                                 box["north"])
        return PostContext(
            lang=body.get("lang"), repost=bool(ctx.get("repost")),
            quote=bool(ctx.get("quote")), reply=bool(ctx.get("reply_to")),
            news_link=self.triager.is_news_link(ctx.get("links", ())),
            distance_km=far, age=age, follows=follows)

    def build(self, body: dict[str, Any], now: datetime,
              placed: str | Unplaced | None = UNPLACED) -> Report:
        """A Report from a validated request body: placed and triaged, not yet stored."""
        posted = parse_time(body["posted_at"], "posted_at")
        if not normalise_source(body["source"]):
            raise ValidationFailed("source is empty", errors=[FieldError(
                "source", "has no visible characters")])
        posted = now if posted > now + MAX_FUTURE else posted
        box = body.get("place_bbox")
        if box is not None and box["south"] > box["north"]:
            raise ValidationFailed("place_bbox is upside down", errors=[FieldError(
                "place_bbox", "south is north of north")])
        nid, how, place = self._locate(body, placed)
        source, author = normalise_source(body["source"]), body.get("author")
        follows = self.follow_ups.concern((source, author), posted) if author else None
        verdict = self.triager.triage(body["text"],
                                      self._context(body, nid, now - posted, follows))
        rules = self.triager.rules.context
        if author and rules.follow_up is not None:
            self.follow_ups.note((source, author), verdict, posted,
                                 rules.follow_up_categories, rules.follow_up)
        if place is not None:
            verdict = replace(verdict, cues=(*verdict.cues, f"place:{place}"))
        loc = body.get("location") or {}
        return Report(
            id=new_id("rep", now), source=source,
            external_id=body["external_id"],
            text=body["text"], posted_at=posted, received_at=now, triage=verdict,
            author=body.get("author"), url=body.get("url"),
            lang=body.get("lang") or verdict.lang,
            lat=loc.get("lat"), lon=loc.get("lon"), accuracy_m=loc.get("accuracy_m"),
            place=body.get("place"), neighbourhood_id=nid, located_by=how)

    def _plan(self, report: Report, now: datetime) -> Callable[[list[Incident]], IngestPlan]:
        def plan(candidates: list[Incident]) -> IngestPlan:
            joined = choose_incident(report, candidates, self._grouping)
            if joined is None:
                inc = open_incident(report, now)
                return IngestPlan(inc, True, (Event(
                    "incident_opened", now, inc.id, data={
                        "status": inc.status.value, "priority": inc.priority.value,
                        "category": inc.category.value, "report_id": report.id,
                        "neighbourhood_id": inc.neighbourhood_id}),))
            inc = absorb(joined, report, now)
            data = {"status": inc.status.value, "priority": inc.priority.value,
                    "report_id": report.id, "report_count": inc.report_count}
            events = [Event("report_joined", now, inc.id, data=data)]
            if inc.priority != joined.priority:
                events.append(Event("priority_raised", now, inc.id, data={
                    **data, "from": joined.priority.value}))
            return IngestPlan(inc, False, tuple(events))   # absorb keeps the version
        return plan

    async def regroup_orphans(self) -> int:
        """Group reports a crash left without an incident (MongoDB writes are not one
        transaction); the sweep calls this. Returns how many it grouped."""
        now = self._clock.now()
        orphans = await self._store.orphan_reports(now - ORPHAN_AFTER)
        for report in orphans:
            plan = await self._store.attach_report(
                report, report.posted_at - self._grouping.window, self._plan(report, now),
                compatible_with(report.triage.category))
            log.warning("grouped orphan report %s into %s", report.id, plan.incident.id)
            await self._started(plan)
        return len(orphans)

    async def _started(self, plan: IngestPlan, incident: Incident | None = None) -> None:
        """After a committed ingest: wake readers, and start the policy if it must start
        (from `incident`, the version the ingest committed, when the caller has it)."""
        self._feed.notify()
        if _starts(plan):
            await self._start(plan.incident.id, incident)

    async def _start(self, incident_id: str, known: Incident | None = None) -> None:
        try:
            await self._escalation.start(incident_id, known)
        except Exception:  # the report is committed; the sweep starts the incident later
            log.exception("could not start escalation for %s", incident_id)

    async def _start_many(self, incident_ids: Sequence[str]) -> None:
        """Start a batch's incidents together; any left over, or all of them if that fails,
        one by one (the reports are committed either way: the sweep starts what is left)."""
        rest: Sequence[str] = incident_ids
        if len(incident_ids) > 1:
            try:
                rest = await self._escalation.start_many(incident_ids)
            except Exception:
                log.exception("could not start %d incidents together; starting each alone",
                              len(incident_ids))
        await asyncio.gather(*(self._start(iid) for iid in rest))

    def _item(self, report: Report, now: datetime) -> IngestItem:
        """What the store needs to store and group this report."""
        return IngestItem(report, report.posted_at - self._grouping.window,
                          self._plan(report, now), compatible_with(report.triage.category),
                          reach(report, self._grouping))

    async def ingest(self, body: dict[str, Any],
                     audit: Callable[[bool], AuditEntry] | None = None) -> Ingested:
        """Store the post once; 2xx after this returns means it is committed. `audit`, given
        whether the post was new, is the entry that records the request, written with it."""
        await self.warmup.ready()
        now = self._clock.now()
        i = self._item(self.build(body, now), now)
        # A post that alerts nobody lets an urgent one's store work go first: its ingest
        # and its incident's start (for most, recorded only).
        with deferrable(i.report.triage.band is not Band.ALERT):
            stored, incident, plan = await self._store.ingest_report(
                i.report, i.window_start, i.plan, i.categories, audit=audit, near=i.near)
            if plan is None:
                return Ingested(stored, incident, False)
            await self._started(plan, incident)
        return Ingested(stored, incident, True)

    async def ingest_many(self, bodies: Sequence[dict[str, Any]]) -> list[Ingested | Exception]:
        """Ingest validated posts together, a result (or the exception) for each: all are
        placed (one vectorised lookup) and triaged first, then stored in order in as few
        writes as the store can make of them (one unit of work and one COMMIT for SQLite;
        a bad post costs only itself); then each incident the batch opened or raised
        starts once, all together (Escalation.start_many)."""
        await self.warmup.ready()
        now = self._clock.now()
        located = [i for i, b in enumerate(bodies) if b.get("location") is not None]
        placed: list[str | Unplaced | None] = [UNPLACED] * len(bodies)
        for i, nid in zip(located, self._geofence.locate_many(
                [bodies[i]["location"]["lat"] for i in located],
                [bodies[i]["location"]["lon"] for i in located]), strict=True):
            placed[i] = nid
        built: list[Report | Exception] = []
        for n, body in enumerate(bodies):
            if n and n % TRIAGE_SLICE == 0:
                await asyncio.sleep(0)   # triage is CPU: let other requests in between
            try:
                built.append(self.build(body, now, placed[n]))
            except Exception as exc:
                built.append(exc)
        reports = [r for r in built if isinstance(r, Report)]
        with deferrable(all(r.triage.band is not Band.ALERT for r in reports)):
            stored = iter(await self._store.ingest_reports([self._item(r, now)
                                                            for r in reports]))
        results: list[Ingested | Exception] = []
        starts: dict[str, None] = {}   # ordered, once per incident
        for r in built:
            done = r if isinstance(r, Exception) else next(stored)
            if isinstance(done, Exception):
                results.append(done)
                continue
            report, incident, plan = done
            results.append(Ingested(report, incident, plan is not None))
            if plan is not None and _starts(plan):
                starts[plan.incident.id] = None
        if any(isinstance(i, Ingested) and i.created for i in results):
            self._feed.notify()
        await self._start_many(list(starts))
        return results


def _starts(plan: IngestPlan) -> bool:
    """The ingest opened the incident or raised its priority: the policy (re)starts."""
    return plan.created or any(e.kind == "priority_raised" for e in plan.events)
