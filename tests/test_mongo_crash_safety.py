"""MongoDB transitions are all or nothing across a crash (issue 15, item 4).

Each transition is committed with its writes cut at every await point in turn (the Nth
awaited collection call is cancelled, as APScheduler's shutdown(wait=False) or a killed process
would). After each cut:
- a store reopened on the database holds either the state before the transition or the
  state after it, never a mix (also when the repair at open is itself cut, then rerun);
- a peer instance that never restarted, acting at once, sees the finished state: exactly one
  acknowledgement wins, an acknowledged incident has no pending alert, no event is lost or
  doubled.
And a writer paused (not killed) at every await point in turn, whose transition a peer
finishes and builds on meanwhile, never undoes the peer's work when it wakes up.

Broken variant: the old commit_transition (claim first, then alerts and events, no intent):
the cut right after the claim leaves the incident acknowledged with its alert pending. And
for the paused writer: the alert writes without their `_v` guard.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from server.adapters.codec import to_doc
from server.adapters.mongo.store import MongoStore
from server.domain.records import Alert, AlertStatus, Event, Incident, IncidentStatus
from server.domain.transitions import Transition
from tests.mongo_cuts import Budget, CutClient
from tests.stores import mock_client
from tests.test_store_contract import T0
from tests.test_store_contract_alerting import alert, started

GRACE_S = 0.02   # how long a peer waits for a claimed transition's owner before finishing it
Scenario = Callable[[MongoStore], Awaitable[Transition]]


async def _incident(store: MongoStore) -> Incident:
    inc = await store.get_incident("inc_a")
    assert inc is not None
    return inc


async def _alert(store: MongoStore, aid: str) -> Alert:
    a = await store.get_alert(aid)
    assert a is not None
    return a


async def first_wave(store: MongoStore) -> Transition:
    """Open -> alerting: a new alert to o1 and o2."""
    inc = await _incident(store)
    a1 = replace(alert(inc, "alr_1"), declines={})
    return Transition(replace(inc, status=IncidentStatus.ALERTING, wave=1, step_seq=1,
                              current_alert_id=a1.id, next_step_at=T0 + timedelta(seconds=30)),
                      (a1,), (Event("alert_sent", T0, inc.id, a1.id),))


def acknowledged(inc: Incident, a: Alert, oid: str) -> Transition:
    """What the service commits when `oid` acknowledges the pending alert `a`."""
    return Transition(
        replace(inc, status=IncidentStatus.ACKNOWLEDGED, acknowledged_by=oid, acknowledged_at=T0,
                next_step_at=None, current_alert_id=None, step_seq=inc.step_seq + 1),
        (replace(a, status=AlertStatus.ACKNOWLEDGED, acknowledged_by=oid, acknowledged_at=T0,
                 closed_at=T0),),
        (Event("acknowledged", T0, inc.id, a.id, actor=oid),))


async def o1_acknowledges(store: MongoStore) -> Transition:
    return acknowledged(await _incident(store), await _alert(store, "alr_1"), "o1")


async def next_wave(store: MongoStore) -> Transition:
    """The deadline passed: alr_1 expires and alr_2 goes to o3 and o4."""
    inc = await _incident(store)
    a1 = await _alert(store, "alr_1")
    a2 = replace(alert(inc, "alr_2", recipients=("o3", "o4")), wave=2, declines={})
    return Transition(
        replace(inc, wave=2, step_seq=inc.step_seq + 1, current_alert_id=a2.id,
                next_step_at=T0 + timedelta(seconds=60)),
        (replace(a1, status=AlertStatus.EXPIRED, closed_at=T0), a2),
        (Event("alert_expired", T0, inc.id, a1.id), Event("alert_sent", T0, inc.id, a2.id)))


async def o1_declines(store: MongoStore) -> Transition:
    inc = await _incident(store)
    a1 = await _alert(store, "alr_1")
    return Transition(replace(inc, updated_at=T0 + timedelta(seconds=1)),
                      (replace(a1, declines={"o1": None}),),
                      (Event("declined", T0, inc.id, a1.id, actor="o1"),))


# Each scenario: what runs before the cut commit, the commit, and the acknowledgements a
# peer then tries (alert id, officer).
SCENARIOS: dict[str, tuple[list[Scenario], Scenario, list[tuple[str, str]]]] = {
    "first wave": ([], first_wave, [("alr_1", "o2")]),
    "acknowledge": ([first_wave], o1_acknowledges, [("alr_1", "o2")]),
    "next wave": ([first_wave], next_wave, [("alr_1", "o1"), ("alr_2", "o3")]),
}


async def acknowledge(store: MongoStore, aid: str, oid: str) -> bool:
    """The escalation service's acknowledgement, as a store client: True if `oid` won."""
    for _ in range(8):
        a = await store.get_alert(aid)
        if a is None:
            return False
        inc = await _incident(store)
        a = await store.get_alert(aid)   # the alert as it stands once the incident is read
        if a is None or a.status is not AlertStatus.PENDING or oid not in a.recipients:
            return False
        if await store.commit_transition(acknowledged(inc, a, oid)):
            return True
    raise AssertionError("the acknowledgement kept losing races")


async def snapshot(store: MongoStore) -> tuple[Any, ...]:
    inc = await _incident(store)
    alerts = await store.list_alerts(inc.id)
    events = await store.events_after(0, incident_id=inc.id)
    return (to_doc(inc), [to_doc(a) for a in alerts],
            [(e.kind, e.alert_id, e.actor) for e in events])


async def consistent(store: MongoStore, *, events_too: bool = True) -> None:
    """Incident, alerts and (once repaired) events agree."""
    inc = await _incident(store)
    alerts = {a.id: a for a in await store.list_alerts(inc.id)}
    pending = [a for a in alerts.values() if a.status is AlertStatus.PENDING]
    taken = [a for a in alerts.values() if a.status is AlertStatus.ACKNOWLEDGED]
    if inc.status is IncidentStatus.ACKNOWLEDGED:
        assert not pending and [a.acknowledged_by for a in taken] == [inc.acknowledged_by]
    else:
        assert not taken and [a.id for a in pending] == [
            i for i in [inc.current_alert_id] if i is not None]
    if not events_too:
        return
    events = [(e.kind, e.alert_id, e.actor) for e in await store.events_after(
        0, incident_id=inc.id)]
    assert len(events) == len(set(events)), events   # nothing doubled
    for a in alerts.values():   # nothing lost: every alert's sending and ending is recorded
        assert ("alert_sent", a.id, None) in events
        ends = {AlertStatus.EXPIRED: ("alert_expired", a.id, None),
                AlertStatus.ACKNOWLEDGED: ("acknowledged", a.id, a.acknowledged_by)}
        if a.status in ends:
            assert ends[a.status] in events, (a, events)
    assert len([e for e in events if e[0] == "acknowledged"]) == len(taken)


class World:
    """One in-memory MongoDB; stores on it, some of them cuttable."""

    def __init__(self) -> None:
        self.client = mock_client()
        self.budget = Budget()
        self.db = f"crash_{uuid.uuid4().hex[:8]}"

    def store(self, *, cut: bool = False) -> MongoStore:
        client = CutClient(self.client, self.budget) if cut else self.client
        return MongoStore(client, self.db, owns_client=False, intent_grace_s=GRACE_S)

    async def unfinished(self) -> int:
        """Transitions claimed and not yet finished, read past the store."""
        n: int = await self.client[self.db]["incidents"].count_documents(
            {"intent.v": {"$exists": True}})
        return n

    async def prepared(self, before: list[Scenario]) -> MongoStore:
        store = self.store()
        await store.open()
        await started(store)
        for step in before:
            assert await store.commit_transition(await step(store))
        return store

    async def cut_commit(self, before: list[Scenario], commit: Scenario, n: int) -> bool:
        """Prepare, then commit with the nth awaited call cut: True if the cut came."""
        store = await self.prepared(before)
        cuttable = self.store(cut=True)
        t = await commit(store)
        self.budget.cut_at(n)
        try:
            assert await cuttable.commit_transition(t)
        except asyncio.CancelledError:
            return True
        finally:
            self.budget.left = None
        return False


async def reference(before: list[Scenario], commit: Scenario) -> tuple[Any, Any]:
    world = World()
    store = await world.prepared(before)
    first = await snapshot(store)
    assert await store.commit_transition(await commit(store))
    return first, await snapshot(store)


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_reopened_store_holds_all_of_a_cut_transition_or_none(name: str) -> None:
    before, commit, _ = SCENARIOS[name]
    states = await reference(before, commit)
    outcomes = []
    for n in range(1, 100):
        world = World()
        if not await world.cut_commit(before, commit, n):
            break
        reopened = world.store()
        await reopened.open()
        assert await world.unfinished() == 0, f"cut at call {n}: open left it"
        state = await snapshot(reopened)
        assert state in states, f"cut at call {n}: {state}"
        outcomes.append(states.index(state))
        # Or nobody restarts: a running instance's sweep finishes it once its grace is over.
        world = World()
        assert await world.cut_commit(before, commit, n)
        await asyncio.sleep(GRACE_S)
        peer = world.store()
        await peer.due_steps(T0)
        assert await world.unfinished() == 0, f"cut at call {n}: the sweep left it"
        assert await snapshot(peer) in states
    assert 0 in outcomes and 1 in outcomes   # cuts before and after the point of no return


async def test_a_repair_cut_anywhere_is_finished_by_the_next_open() -> None:
    before, commit, _ = SCENARIOS["next wave"]
    states = await reference(before, commit)
    for n in range(1, 100):
        if not await World().cut_commit(before, commit, n):
            break
        for m in range(1, 200):   # the same cut, then the repair at open cut at m
            world = World()
            assert await world.cut_commit(before, commit, n)
            world.budget.cut_at(m)
            try:
                await world.store(cut=True).open()
                repaired = True
            except asyncio.CancelledError:
                repaired = False
            world.budget.left = None
            await world.store().open()
            assert await world.unfinished() == 0
            assert await snapshot(world.store()) in states, f"commit cut at {n}, repair at {m}"
            if repaired:
                break


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_peer_acting_after_a_cut_sees_the_finished_transition(name: str) -> None:
    before, commit, acks = SCENARIOS[name]
    for n in range(1, 100):
        world = World()
        cut = await world.cut_commit(before, commit, n)
        peer = world.store()   # another instance, running all along: nothing reopened
        await consistent(peer, events_too=False)   # what it reads agrees before it acts
        won = [await acknowledge(peer, aid, oid) for aid, oid in acks]
        # At once: alerts agree with the incident. Events follow when the dead writer's
        # grace is over and the sweep's next read repairs.
        await consistent(peer, events_too=False)
        await asyncio.sleep(GRACE_S)
        await peer.due_steps(T0)
        await consistent(peer)
        taken = [a for a in await peer.list_alerts("inc_a")
                 if a.status is AlertStatus.ACKNOWLEDGED]
        if name != "acknowledge":   # o1's cut acknowledgement may have won instead
            assert len(taken) == won.count(True), f"cut at {n}: {won} {taken}"
        if name != "first wave":
            assert len(taken) == 1, f"cut at {n}: not exactly one winner: {won} {taken}"
        if not cut:
            break


async def test_a_writer_waking_late_never_undoes_a_newer_transition() -> None:
    for n in range(1, 100):
        world = World()
        store = await world.prepared([first_wave])
        t = await o1_declines(store)
        world.budget.pause_at(n)
        late = asyncio.create_task(world.store(cut=True).commit_transition(t))
        paused = asyncio.create_task(world.budget.paused.wait())
        await asyncio.wait({late, paused}, return_when=asyncio.FIRST_COMPLETED)
        paused.cancel()
        if late.done():
            assert late.result()
            break
        peer = world.store()   # meanwhile o2 acknowledges on another instance
        assert await acknowledge(peer, "alr_1", "o2")
        world.budget.release.set()
        await late
        await asyncio.sleep(GRACE_S)
        await peer.due_steps(T0)
        await consistent(peer)
        taken = await _alert(peer, "alr_1")
        assert taken.acknowledged_by == "o2" and taken.status is AlertStatus.ACKNOWLEDGED
