"""Pushes for alerts, with a delivery record per device, retries and dead-token cleanup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..domain.model import Device, Platform
from ..domain.records import Alert, Delivery, Incident, new_id
from ..ports import Clock, DeliveryStore, DeviceStore, Push, PushMessage, PushOutcome
from .tasks import TaskSet

log = logging.getLogger(__name__)
SUMMARY_CHARS = 140
# A pending alert this young is still being pushed by the process that created it.
SETTLE = timedelta(seconds=5)
# A delivery not updated for this long was left by a process that died (a live one records
# each attempt; backoff waits at most RetryPolicy.max_s between them).
STALE = timedelta(seconds=20)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for retryable push errors (429, 5xx): doubling, capped, within the window."""

    first_s: float = 0.5
    max_s: float = 8.0
    max_attempts: int = 6


def pushable(devices: Sequence[Device]) -> list[Device]:
    """The devices a push can reach (an event-stream registration is reached by the stream)."""
    return [d for d in devices if d.platform is not Platform.STREAM]


class NotifyStore(DeviceStore, DeliveryStore, Protocol):
    """Whom to push (and which tokens are dead), and the record of each push."""


class Notifier:
    """Sends alert, taken and closed pushes in the background and records each delivery.

    An alert's pushes are made at least once: `redeliver` (run by the sweep on every
    instance, and so at start-up) pushes again to each device of a pending alert that has
    no delivery record, or whose record was left unfinished by a process that died."""

    def __init__(self, store: NotifyStore, push: Push, clock: Clock, tasks: TaskSet,
                 retry: RetryPolicy | None = None, stale: timedelta = STALE) -> None:
        self._store, self._push, self._clock, self._tasks = store, push, clock, tasks
        self._retry = retry or RetryPolicy()
        self._stale = stale
        self._inflight: set[str] = set()  # alert ids this process is pushing now

    def _alert_message(self, alert: Alert, incident: Incident, neighbourhood: str | None
                       ) -> tuple[dict[str, str], datetime, str, str]:
        deadline = alert.deadline or self._clock.now() + timedelta(minutes=5)
        data = {"type": "alert", "alert_id": alert.id, "incident_id": incident.id,
                "priority": incident.priority.value, "category": incident.category.value,
                "neighbourhood": neighbourhood or "", "wave": str(alert.wave),
                "summary": incident.summary[:SUMMARY_CHARS],
                "ack_deadline": deadline.isoformat().replace("+00:00", "Z")}
        title = f"{incident.priority.value} {incident.category.value.replace('_', ' ')}"
        if neighbourhood:
            title += f" in {neighbourhood}"
        return data, deadline, title, incident.summary[:SUMMARY_CHARS]

    def alert(self, alert: Alert, incident: Incident, neighbourhood: str | None) -> None:
        """Push a new alert to every device of every recipient."""
        data, deadline, title, body = self._alert_message(alert, incident, neighbourhood)
        self._spawn(alert, alert.recipients, "alert", data, deadline, title, body)

    async def redeliver(self, alert: Alert, incident: Incident,
                        neighbourhood: str | None) -> int:
        """Push a pending alert again to each device that has no finished delivery; the
        number of devices pushed. Skipped while this process is pushing it, in the first
        seconds of the alert (its own push is being set up) and after its deadline."""
        now = self._clock.now()
        if (alert.id in self._inflight or now - alert.created_at < SETTLE
                or (alert.deadline is not None and alert.deadline <= now)):
            return 0
        devices = pushable(await self._store.devices_for(list(alert.recipients)))
        records = {d.token: d for d in await self._store.list_deliveries([alert.id])
                   if d.kind == "alert"}
        todo = []
        for device in devices:
            old = records.get(device.token)
            if old is None:
                todo.append(Delivery(id=new_id("dlv", now), alert_id=alert.id,
                                     officer_id=device.officer_id, token=device.token,
                                     kind="alert", status="pending", created_at=now,
                                     updated_at=now))
            elif old.status in ("pending", "retrying") and now - old.updated_at > self._stale:
                todo.append(replace(old, status="pending", updated_at=now))
        if todo:
            log.warning("alert %s: pushing again to %d device(s) left unpushed", alert.id,
                        len(todo))
            data, deadline, title, body = self._alert_message(alert, incident, neighbourhood)
            self._start(alert, self._send(alert, todo, data, deadline, title, body),
                        "repush")
        return len(todo)

    def closed(self, alert: Alert, kind: str, recipients: Sequence[str], **extra: str) -> None:
        """Tell recipients their alert is no longer theirs (taken, expired, cancelled)."""
        if not recipients:
            return
        data = {"type": kind, "alert_id": alert.id, "incident_id": alert.incident_id, **extra}
        self._spawn(alert, recipients, kind, data, self._clock.now() + timedelta(minutes=2))

    def _spawn(self, alert: Alert, recipients: Sequence[str], kind: str, data: dict[str, str],
               until: datetime, title: str | None = None, body: str | None = None) -> None:
        self._start(alert, self._deliver(alert, recipients, kind, data, until, title, body),
                    kind)

    def _start(self, alert: Alert, work: Coroutine[Any, Any, None], kind: str) -> None:
        if kind in ("alert", "repush"):
            self._inflight.add(alert.id)

        async def run() -> None:
            try:
                await work
            finally:
                if kind in ("alert", "repush"):
                    self._inflight.discard(alert.id)

        self._tasks.spawn(run(), name=f"push-{kind}-{alert.id}")

    async def _deliver(self, alert: Alert, recipients: Sequence[str], kind: str,
                       data: dict[str, str], until: datetime, title: str | None,
                       body: str | None) -> None:
        devices = pushable(await self._store.devices_for(list(recipients)))
        if not devices:
            log.info("alert %s: no push device for %s (an event stream may reach them)",
                     alert.id, list(recipients))
            return
        now = self._clock.now()
        records = [Delivery(id=new_id("dlv", now), alert_id=alert.id, officer_id=d.officer_id,
                            token=d.token, kind=kind, status="pending", created_at=now,
                            updated_at=now) for d in devices]
        await self._send(alert, records, data, until, title, body)

    async def _send(self, alert: Alert, records: list[Delivery], data: dict[str, str],
                    until: datetime, title: str | None, body: str | None) -> None:
        """Record the deliveries, then send with backoff until each is done or given up.
        Each device keeps its own schedule: one device's long Retry-After (or slow answers)
        never holds back another's retry."""
        await self._store.put_deliveries(records)
        pending = {r.id: r for r in records}
        due = dict.fromkeys(pending, self._clock.now())
        while pending:
            now = self._clock.now()
            batch = [r for r in pending.values() if due[r.id] <= now]
            if not batch:
                await asyncio.sleep(max(0.0, (min(due.values()) - now).total_seconds()))
                continue
            ttl = max(1, int((until - now).total_seconds()))
            outcomes = await self._push.send([
                PushMessage(token=r.token, data=data, ttl_s=ttl, title=title, body=body)
                for r in batch])
            for r in batch:
                del pending[r.id], due[r.id]
            now = self._clock.now()
            given_up = []
            for r, o in await self._record(batch, outcomes):
                wait = timedelta(seconds=self._wait(r.attempts, o))
                if r.attempts >= self._retry.max_attempts or now + wait >= until:
                    given_up.append(r)
                else:
                    pending[r.id], due[r.id] = r, now + wait
            await self._give_up(given_up)

    def _wait(self, attempts: int, outcome: PushOutcome) -> float:
        """This device's next try: doubling backoff, or later if FCM asked for later."""
        backoff: float = min(self._retry.max_s, self._retry.first_s * 2 ** (attempts - 1))
        return max(backoff, outcome.retry_after_s or 0.0)

    async def _record(self, records: list[Delivery], outcomes: Sequence[PushOutcome]
                      ) -> list[tuple[Delivery, PushOutcome]]:
        """Store each outcome; return the deliveries to retry, with their outcomes."""
        now = self._clock.now()
        again: list[tuple[Delivery, PushOutcome]] = []
        done: list[Delivery] = []
        for r, o in zip(records, outcomes, strict=True):
            status = {"sent": "sent", "retry": "retrying"}.get(o.status, "failed")
            updated = replace(r, status=status, attempts=r.attempts + 1, updated_at=now,
                              message_id=o.message_id, error_code=o.error_code)
            if o.status == "retry":
                again.append((updated, o))
            else:
                done.append(updated)
            if o.status == "unregistered":
                await self._store.forget_token(r.token)
                log.info("forgot dead token of officer %s (%s)", r.officer_id, o.error_code)
        await self._store.put_deliveries(done + [r for r, _ in again])
        return again

    async def _give_up(self, records: Sequence[Delivery]) -> None:
        if records:
            now = self._clock.now()
            await self._store.put_deliveries([replace(r, status="failed", updated_at=now)
                                              for r in records])
            log.warning("gave up on %d pushes of alert %s", len(records), records[0].alert_id)
