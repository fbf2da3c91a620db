"""The storage port's contract for the alert loop: every adapter passes these."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from server.domain.grouping import open_incident
from server.domain.records import (
    Alert,
    AlertStatus,
    Category,
    Delivery,
    Event,
    Incident,
    IncidentStatus,
    Priority,
    Report,
    Triage,
)
from server.domain.transitions import IngestPlan, Transition
from server.ports import IngestItem, Store
from tests.test_store_contract import T0


def report(ext: str, nid: str | None = "n1", at=T0) -> Report:  # type: ignore[no-untyped-def]
    return Report(id=f"rep_{ext}", source="x", external_id=ext, text=f"text {ext}",
                  posted_at=at, received_at=at, triage=Triage(Category.FIRE, Priority.P1, ("c",)),
                  lat=51.5, lon=-0.1, neighbourhood_id=nid)


def new_plan(r: Report):  # type: ignore[no-untyped-def]
    def plan(candidates: list[Incident]) -> IngestPlan:
        if candidates:
            inc = candidates[0]
            return IngestPlan(replace(inc, report_count=inc.report_count + 1), False,
                              (Event("report_joined", T0, inc.id),))
        inc = replace(open_incident(r, T0), id=f"inc_{r.external_id}")
        return IngestPlan(inc, True, (Event("incident_opened", T0, inc.id),))
    return plan


async def test_ingest_stores_once_and_groups(store: Store) -> None:
    r1 = report("a")
    stored, inc, plan = await store.ingest_report(r1, T0 - timedelta(minutes=15), new_plan(r1))
    assert plan is not None and plan.created and inc is not None
    assert stored.incident_id == inc.id and inc.version == 0
    again, inc2, plan2 = await store.ingest_report(replace(r1, id="rep_other"),
                                                   T0 - timedelta(minutes=15), new_plan(r1))
    assert plan2 is None and again.id == r1.id and inc2 is not None and inc2.id == inc.id
    r2 = report("b")
    _, joined, plan3 = await store.ingest_report(r2, T0 - timedelta(minutes=15), new_plan(r2))
    assert plan3 is not None and not plan3.created and joined is not None
    assert joined.id == inc.id and joined.report_count == 2 and joined.version == 1
    assert [r.id for r in await store.list_reports(inc.id)] == ["rep_a", "rep_b"]
    assert await store.get_report("rep_a") == replace(r1, incident_id=inc.id)
    events = await store.events_after(0)
    assert [e.kind for e in events] == ["incident_opened", "report_joined"]
    assert events[0].id < events[1].id


async def test_grouping_candidates_are_same_neighbourhood_open_and_recent(
        store: Store) -> None:
    seen: list[list[str]] = []

    def spy(r: Report):  # type: ignore[no-untyped-def]
        inner = new_plan(r)

        def plan(candidates: list[Incident]) -> IngestPlan:
            seen.append([c.id for c in candidates])
            return inner([])  # always open a new one
        return plan

    for ext, nid, since in (("a", "n1", T0), ("b", "n2", T0), ("c", None, T0), ("d", None, T0),
                            ("e", "n1", T0 + timedelta(hours=1))):
        r = report(ext, nid)
        await store.ingest_report(r, since - timedelta(minutes=15), spy(r))
    assert seen == [[], [], [], ["inc_c"], []]


async def started(store: Store, ext: str = "a") -> Incident:
    r = report(ext, nid=f"n-{ext}")
    _, inc, _ = await store.ingest_report(r, T0, new_plan(r))
    assert inc is not None
    return inc


def alert(inc: Incident, aid: str = "alr_1", status: AlertStatus = AlertStatus.PENDING,
          recipients: tuple[str, ...] = ("o1", "o2")) -> Alert:
    return Alert(id=aid, incident_id=inc.id, wave=1, kind="wave", priority=Priority.P1,
                 recipients=recipients, status=status, created_at=T0,
                 deadline=T0 + timedelta(seconds=30), declines={"o2": "busy"})


async def test_transition_is_guarded_by_version(store: Store) -> None:
    inc = await started(store)
    a = alert(inc)
    step = replace(inc, status=IncidentStatus.ALERTING, next_step_at=a.deadline, step_seq=1,
                   current_alert_id=a.id)
    assert await store.commit_transition(Transition(step, (a,), (Event("alert_sent", T0,
                                                                       inc.id, a.id),)))
    stored = await store.get_incident(inc.id)
    assert stored is not None and stored.version == 1 and stored.status is IncidentStatus.ALERTING
    assert await store.get_alert(a.id) == a
    # A second writer that read the same version loses and writes nothing.
    assert not await store.commit_transition(Transition(replace(step, summary="stale"),
                                                        events=(Event("x", T0, inc.id),)))
    after = await store.get_incident(inc.id)
    assert after is not None and after.summary == inc.summary
    assert [e.kind for e in await store.events_after(0, incident_id=inc.id)] == [
        "incident_opened", "alert_sent"]
    assert not await store.commit_transition(Transition(replace(step, id="nope")))


async def test_concurrent_transitions_one_winner(store: Store) -> None:
    inc = await started(store)
    results = await asyncio.gather(*(store.commit_transition(Transition(
        replace(inc, acknowledged_by=f"o{i}"))) for i in range(10)))
    assert sorted(results) == [False] * 9 + [True]


async def test_steps_queue_and_alerts_queries(store: Store) -> None:
    inc = await started(store, "a")
    other = await started(store, "z")
    a = alert(inc)
    due = replace(inc, status=IncidentStatus.ALERTING, next_step_at=T0 + timedelta(seconds=30),
                  step_seq=3, current_alert_id=a.id)
    assert await store.commit_transition(Transition(due, (a,)))
    assert await store.due_steps(T0) == []
    assert await store.due_steps(T0 + timedelta(seconds=30)) == [(inc.id, 3)]
    assert await store.pending_steps() == [(inc.id, 3, T0 + timedelta(seconds=30))]
    assert [x.id for x in await store.open_alerts_for("o1")] == [a.id]
    assert await store.open_alerts_for("o9") == []
    assert [x.id for x in await store.pending_alerts()] == [a.id]
    assert [x.id for x in await store.list_alerts(inc.id)] == [a.id]
    esc = replace(other, status=IncidentStatus.ESCALATED, escalated_at=T0)
    await store.commit_transition(Transition(esc))
    assert [i.id for i in await store.escalation_queue()] == [other.id]
    stored = await store.get_incident(other.id)
    assert stored is not None
    await store.commit_transition(Transition(replace(stored, taken_by="op")))
    assert await store.escalation_queue() == []
    closed = replace(a, status=AlertStatus.EXPIRED)
    stored_inc = await store.get_incident(inc.id)
    assert stored_inc is not None
    await store.commit_transition(Transition(replace(stored_inc, next_step_at=None), (closed,)))
    assert await store.open_alerts_for("o1") == []
    assert await store.pending_alerts() == []
    assert await store.due_steps(T0 + timedelta(days=1)) == []


async def test_incident_listing_filters_and_pages(store: Store) -> None:
    ids = []
    for i in range(5):
        r = replace(report(f"i{i}", nid=f"n{i % 2}"), posted_at=T0 + timedelta(minutes=i))
        _, inc, _ = await store.ingest_report(r, T0 + timedelta(days=1), new_plan(r))
        assert inc is not None
        ids.append(inc.id)
    newest_first = sorted(ids, reverse=True)
    page = await store.list_incidents(limit=2)
    assert [i.id for i in page] == newest_first[:2]
    rest = await store.list_incidents(limit=10, before_id=page[-1].id)
    assert [i.id for i in rest] == newest_first[2:]
    assert len(await store.list_incidents(neighbourhood_id="n0")) == 3
    assert len(await store.list_incidents(status="open", priority="P1")) == 5
    assert await store.list_incidents(status="resolved") == []
    recent = await store.list_incidents(since=T0 + timedelta(minutes=3))
    assert len(recent) == 2


async def test_deliveries_and_events(store: Store) -> None:
    d = Delivery(id="dlv_1", alert_id="alr_1", officer_id="o1", token="t", kind="alert",
                 status="pending", created_at=T0, updated_at=T0)
    await store.put_deliveries([d])
    sent = replace(d, status="sent", message_id="m1", attempts=1)
    await store.put_deliveries([sent])
    assert await store.list_deliveries(["alr_1"]) == [sent]
    assert await store.list_deliveries([]) == []
    assert await store.last_event_id() == 0
    await store.add_events([Event("a", T0, "i1", data={"k": [1, 2]}), Event("b", T0, "i2")])
    all_events = await store.events_after(0)
    assert await store.last_event_id() == all_events[-1].id
    assert [(e.kind, e.data) for e in all_events] == [("a", {"k": [1, 2]}), ("b", {})]
    assert [e.kind for e in await store.events_after(all_events[0].id)] == ["b"]
    assert [e.kind for e in await store.events_after(0, incident_id="i2")] == ["b"]


async def test_find_reports_newest_first_by_source_and_time(store: Store) -> None:
    window = T0 - timedelta(minutes=15)
    for i, (ext, src) in enumerate([("a", "x"), ("b", "bsky"), ("c", "x"), ("d", "x")]):
        r = replace(report(ext, at=T0 + timedelta(seconds=i)), id=f"rep_{i}{ext}", source=src)
        await store.ingest_report(r, window, new_plan(r))
    assert [r.id for r in await store.find_reports()] == ["rep_3d", "rep_2c", "rep_1b", "rep_0a"]
    page = await store.find_reports(source="x", limit=2)
    assert [r.id for r in page] == ["rep_3d", "rep_2c"]
    rest = await store.find_reports(source="x", before_id=page[-1].id, limit=2)
    assert [r.id for r in rest] == ["rep_0a"]
    recent = await store.find_reports(since=T0 + timedelta(seconds=2))
    assert [r.id for r in recent] == ["rep_3d", "rep_2c"]


async def test_a_batch_stores_as_its_posts_would_one_by_one(store: Store) -> None:
    window = T0 - timedelta(minutes=15)
    first = report("a")
    await store.ingest_report(first, window, new_plan(first))   # stored before the batch
    posts = [report("b"), report("c", nid="n2"), replace(report("b"), id="rep_b2"),
             report("d"), replace(report("a"), id="rep_a2"), report("e", nid="n2")]

    def refuse(_: list[Incident]) -> IngestPlan:
        raise ValueError("this post cannot be grouped")

    items = [IngestItem(p, window, new_plan(p)) for p in posts]
    items.insert(3, IngestItem(report("bad"), window, refuse))
    done = await store.ingest_reports(items)
    assert isinstance(done[3], ValueError)
    outcomes = [d for d in done if not isinstance(d, Exception)]
    assert [(r.id, r.incident_id, plan is not None) for r, _, plan in outcomes] == [
        ("rep_b", "inc_a", True), ("rep_c", "inc_c", True), ("rep_b", "inc_a", False),
        ("rep_d", "inc_a", True), ("rep_a", "inc_a", False), ("rep_e", "inc_c", True)]
    joined = await store.get_incident("inc_a")
    assert joined is not None and joined.report_count == 3 and joined.version == 2
    assert [inc.version for _, inc, _ in outcomes if inc is not None and inc.id == "inc_a"] == [
        1, 1, 2, 2]
    assert [r.id for r in await store.list_reports("inc_a")] == ["rep_a", "rep_b", "rep_d"]
    bad = await store.get_report("rep_bad")   # MongoDB keeps it, ungrouped, for the sweep
    assert bad is None or bad.incident_id is None
    kinds = [(e.kind, e.incident_id) for e in await store.events_after(0)]
    assert kinds == [("incident_opened", "inc_a"), ("report_joined", "inc_a"),
                     ("incident_opened", "inc_c"), ("report_joined", "inc_a"),
                     ("report_joined", "inc_c")]


async def test_several_incidents_are_read_at_once(store: Store) -> None:
    a, b = await started(store, "a"), await started(store, "b")
    assert await store.get_incidents([]) == []
    found = await store.get_incidents([b.id, "inc_missing", a.id, b.id])
    assert found == [await store.get_incident(b.id), await store.get_incident(a.id)]


async def test_several_incidents_alerts_are_read_at_once(store: Store) -> None:
    a, b, c = [await started(store, x) for x in "abc"]
    first, second = alert(a, "alr_1"), alert(a, "alr_2", recipients=("o3",))
    for inc, alerts in ((a, (first, second)), (b, (alert(b, "alr_3"),))):
        step = replace(inc, status=IncidentStatus.ALERTING, current_alert_id=alerts[-1].id,
                       next_step_at=T0 + timedelta(seconds=30), step_seq=1)
        assert await store.commit_transition(Transition(step, alerts))
    assert await store.list_alerts_of([]) == {}
    found = await store.list_alerts_of([c.id, a.id, "inc_missing", b.id])
    assert found == {c.id: [], a.id: [first, second], "inc_missing": [],
                     b.id: await store.list_alerts(b.id)}
    assert found[a.id] == await store.list_alerts(a.id)


async def test_transitions_commit_together_each_guarded_by_its_version(store: Store) -> None:
    assert await store.commit_transitions([]) == []
    a, b, c = [await started(store, x) for x in "abc"]
    # b changes after it was read: its transition below was decided from a stale version.
    assert await store.commit_transition(Transition(replace(b, summary="changed")))
    alerts = {i.id: alert(i, f"alr_{i.id}") for i in (a, b, c)}
    ts = [Transition(replace(i, status=IncidentStatus.ALERTING, current_alert_id=alerts[i.id].id,
                             next_step_at=T0 + timedelta(seconds=30), step_seq=1),
                     (alerts[i.id],), (Event("alert_sent", T0, i.id, alerts[i.id].id),))
          for i in (a, b, c)]
    assert await store.commit_transitions(ts) == [True, False, True]
    for inc, won in ((a, True), (b, False), (c, True)):
        stored = await store.get_incident(inc.id)
        assert stored is not None
        assert stored.status is (IncidentStatus.ALERTING if won else IncidentStatus.OPEN)
        assert stored.version == 1   # a and c by their start, b by its change
        assert await store.get_alert(alerts[inc.id].id) == (alerts[inc.id] if won else None)
        kinds = [e.kind for e in await store.events_after(0, incident_id=inc.id)]
        assert kinds == ["incident_opened"] + (["alert_sent"] if won else [])
    assert [x.id for x in await store.open_alerts_for("o1")] == [alerts[a.id].id,
                                                                 alerts[c.id].id]
    # Committed once: the same transitions again are stale, every one.
    assert await store.commit_transitions(ts) == [False, False, False]
