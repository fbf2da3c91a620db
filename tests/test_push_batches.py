"""Pushes asked for in one turn of the loop (a batch's alerts, the steps a restart runs
together) share one read of the devices and one write of the deliveries before sending and
one after; a push that hangs holds back no push asked for later."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from server.domain.model import Device, OfficerProfile, Platform
from server.domain.records import (
    Alert,
    AlertStatus,
    Category,
    Incident,
    IncidentStatus,
    Priority,
)
from server.ports import PushMessage, PushOutcome, Store
from server.services.notify import Notifier
from server.services.tasks import TaskSet

NOW = datetime.now(UTC)


class Counted:
    """The store, counting the calls the notifier makes (a spy that changes nothing)."""

    def __init__(self, inner: Store) -> None:
        self.inner, self.calls = inner, []   # type: ignore[var-annotated]

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await attr(*args, **kwargs)
        return counted


class Recorded:
    """A push service that answers at once, or hangs on tokens it is told to hang on."""

    def __init__(self, hang: Sequence[str] = ()) -> None:
        self.sends: list[list[str]] = []
        self.hang, self.release = set(hang), asyncio.Event()

    async def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        self.sends.append([m.data["alert_id"] for m in messages])
        if self.hang & {m.token for m in messages}:
            await self.release.wait()
        return [PushOutcome("sent", message_id=f"m-{m.token}") for m in messages]

    async def close(self) -> None:
        """Nothing to release."""


def alert_of(i: int, recipients: tuple[str, ...]) -> tuple[Alert, Incident]:
    inc = Incident(id=f"inc_{i}", status=IncidentStatus.ALERTING, priority=Priority.P1,
                   category=Category.MEDICAL, neighbourhood_id=None, first_seen_at=NOW,
                   last_seen_at=NOW, created_at=NOW, updated_at=NOW,
                   summary="man not breathing")
    return Alert(id=f"alr_{i}", incident_id=inc.id, wave=1, kind="wave",
                 priority=Priority.P1, recipients=recipients, status=AlertStatus.PENDING,
                 created_at=NOW, deadline=NOW + timedelta(seconds=60)), inc


async def with_devices(store: Store, officers: Sequence[str]) -> None:
    """Officers on duty, each with two phones (a device is pushed only in its duty session)."""
    for o in officers:
        await store.put_officer(OfficerProfile(o, o, o.upper()), NOW)
        await store.set_duty(o, True, NOW, session_id=f"s-{o}")
        for phone in ("a", "b"):
            await store.put_device(Device(f"tok-{o}-{phone}", o, Platform.ANDROID, NOW))


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def test_pushes_asked_for_together_share_the_store_and_one_send(store: Store) -> None:
    await with_devices(store, ["pc1", "pc2", "pc3"])
    counted, push, tasks = Counted(store), Recorded(), TaskSet()
    notifier = Notifier(counted, push, Clock(), tasks)   # type: ignore[arg-type]
    for i in range(40):
        notifier.alert(*alert_of(i, ("pc1", "pc2") if i % 2 else ("pc3",)), "Whitehall")
    notifier.closed(alert_of(99, ("pc1",))[0], "alert_closed", ["pc1"], reason="expired")
    await asyncio.wait_for(tasks.idle(), 10)
    assert counted.calls == ["devices_for", "put_deliveries", "put_deliveries"]
    assert len(push.sends) == 1 and len(push.sends[0]) == 20 * 4 + 20 * 2 + 2
    deliveries = await store.list_deliveries([f"alr_{i}" for i in (*range(40), 99)])
    assert len(deliveries) == 122 and {d.status for d in deliveries} == {"sent"}
    assert {(d.alert_id, d.officer_id) for d in deliveries if d.alert_id == "alr_1"} == {
        ("alr_1", "pc1"), ("alr_1", "pc2")}


async def test_a_hanging_push_holds_back_no_later_one(store: Store) -> None:
    await with_devices(store, ["slow", "pc1"])
    push, tasks = Recorded(hang=["tok-slow-a"]), TaskSet()
    notifier = Notifier(store, push, Clock(), tasks)   # type: ignore[arg-type]
    notifier.alert(*alert_of(1, ("slow",)), None)
    await asyncio.wait_for(_sent(push, 1), 5)
    notifier.alert(*alert_of(2, ("pc1",)), None)   # asked for a turn later
    await asyncio.wait_for(_delivered(store, "alr_2", 2), 5)
    assert [d.status for d in await store.list_deliveries(["alr_1"])] == ["pending"] * 2
    push.release.set()
    await asyncio.wait_for(tasks.idle(), 5)
    assert [d.status for d in await store.list_deliveries(["alr_1"])] == ["sent"] * 2


async def _sent(push: Recorded, n: int) -> None:
    while len(push.sends) < n:   # noqa: ASYNC110 (the fake has no event per send)
        await asyncio.sleep(0.001)


async def _delivered(store: Store, alert_id: str, n: int) -> None:
    # Polling is the point: the condition lives in the store.
    while sum(d.status == "sent" for d in await store.list_deliveries([alert_id])) < n:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
