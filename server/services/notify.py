"""Pushes for alerts, with a delivery record per device, retries and dead-token cleanup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

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
BATCH = 500   # pushes sent together at most


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for retryable push errors (429, 5xx): doubling, capped, within the window."""

    first_s: float = 0.5
    max_s: float = 8.0
    max_attempts: int = 6


def pushable(devices: Sequence[Device]) -> list[Device]:
    """The devices a push can reach (an event-stream registration is reached by the stream)."""
    return [d for d in devices if d.platform is not Platform.STREAM]


@dataclass(frozen=True, eq=False)
class _Push:
    """One push of an alert to its recipients' devices (or, again, to these deliveries)."""

    alert: Alert
    kind: str
    data: dict[str, str]
    until: datetime
    title: str | None
    body: str | None
    recipients: Sequence[str] = ()
    records: list[Delivery] | None = None

    @property
    def tracked(self) -> bool:
        """An alert's own push: redelivery leaves the alert alone while it is under way."""
        return self.kind in ("alert", "repush")


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
        self._queue: list[_Push] = []   # asked for in this turn of the loop

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
            self._enqueue(_Push(alert, "repush", data, deadline, title, body, records=todo))
        return len(todo)

    def closed(self, alert: Alert, kind: str, recipients: Sequence[str], **extra: str) -> None:
        """Tell recipients their alert is no longer theirs (taken, expired, cancelled)."""
        if not recipients:
            return
        data = {"type": kind, "alert_id": alert.id, "incident_id": alert.incident_id, **extra}
        self._spawn(alert, recipients, kind, data, self._clock.now() + timedelta(minutes=2))

    def _spawn(self, alert: Alert, recipients: Sequence[str], kind: str, data: dict[str, str],
               until: datetime, title: str | None = None, body: str | None = None) -> None:
        self._enqueue(_Push(alert, kind, data, until, title, body, recipients=recipients))

    def _enqueue(self, push: _Push) -> None:
        """Queue the push for a task that starts on the loop's next turn: pushes asked for
        in one turn (a batch's alerts, the steps run together after a restart) share one
        read of the devices, one write of the pending deliveries (while they are sent) and
        one of the outcomes, and go out side by side. Each turn's pushes are a task of
        their own, so a device that hangs holds back no later push."""
        if push.tracked:
            self._inflight.add(push.alert.id)
        self._queue.append(push)
        if len(self._queue) == 1:
            self._tasks.spawn(self._send_queued(), name="push-batch")

    async def _send_queued(self) -> None:
        pushes, self._queue = self._queue, []
        await asyncio.gather(*(self._first_attempt(pushes[at:at + BATCH])
                               for at in range(0, len(pushes), BATCH)))

    def _finished(self, push: _Push) -> None:
        if push.tracked:
            self._inflight.discard(push.alert.id)

    async def _first_attempt(self, pushes: Sequence[_Push]) -> None:
        """Record and send every push of the batch once; those left to retry go on alone.
        If the store fails, the deliveries stay pending: redelivery pushes them again."""
        try:
            await self._record_and_send(pushes)
        except BaseException:
            for push in pushes:
                self._finished(push)
            raise

    async def _record_and_send(self, pushes: Sequence[_Push]) -> None:
        wanted = list(dict.fromkeys(o for p in pushes if p.records is None
                                    for o in p.recipients))
        devices: dict[str, list[Device]] = {}
        for d in pushable(await self._store.devices_for(wanted) if wanted else []):
            devices.setdefault(d.officer_id, []).append(d)
        now = self._clock.now()
        work: list[tuple[_Push, list[Delivery]]] = []
        for p in pushes:
            records = p.records if p.records is not None else [
                Delivery(id=new_id("dlv", now), alert_id=p.alert.id, officer_id=d.officer_id,
                         token=d.token, kind=p.kind, status="pending", created_at=now,
                         updated_at=now)
                for o in dict.fromkeys(p.recipients) for d in devices.get(o, ())]
            if records:
                work.append((p, records))
            else:
                log.info("alert %s: no push device for %s (an event stream may reach them)",
                         p.alert.id, list(p.recipients))
                self._finished(p)
        # The pending records are written while the pushes go out, not before: a process
        # that dies meanwhile leaves them pending or unwritten, and redelivery pushes a
        # device with either again (at least once); the write costs the push no time.
        writing = asyncio.ensure_future(self._store.put_deliveries(  # noqa: RUF006 (awaited below)
            [r for _, records in work for r in records]))
        again = await self._attempt([(p, r) for p, records in work for r in records], writing)
        for p, _ in work:
            failed = [(r, o) for q, r, o in again if q is p]
            if failed:
                self._tasks.spawn(self._retry_failed(p, failed),
                                  name=f"push-{p.kind}-{p.alert.id}")
            else:
                self._finished(p)

    async def _attempt(self, batch: Sequence[tuple[_Push, Delivery]],
                       written: Awaitable[None] | None = None,
                       ) -> list[tuple[_Push, Delivery, PushOutcome]]:
        """Send each delivery once and record the outcomes (after `written`, the pending
        records' write, has landed); those to retry."""
        now = self._clock.now()
        try:
            outcomes = await self._push.send([PushMessage(
                token=r.token, data=p.data, ttl_s=max(1, int((p.until - now).total_seconds())),
                title=p.title, body=p.body) for p, r in batch])
        finally:
            if written is not None:
                await written
        push_of = {r.id: p for p, r in batch}
        return [(push_of[r.id], r, o)
                for r, o in await self._record([r for _, r in batch], outcomes)]

    async def _retry_failed(self, push: _Push,
                            failed: Sequence[tuple[Delivery, PushOutcome]]) -> None:
        """Send again with backoff until each delivery is done or given up. Each device
        keeps its own schedule: one device's long Retry-After (or slow answers) never holds
        back another's retry."""
        try:
            pending: dict[str, Delivery] = {}
            due: dict[str, datetime] = {}
            await self._schedule(push, failed, pending, due)
            while pending:
                now = self._clock.now()
                batch = [r for r in pending.values() if due[r.id] <= now]
                if not batch:
                    await asyncio.sleep(max(0.0, (min(due.values()) - now).total_seconds()))
                    continue
                for r in batch:
                    del pending[r.id], due[r.id]
                again = await self._attempt([(push, r) for r in batch])
                await self._schedule(push, [(r, o) for _, r, o in again], pending, due)
        finally:
            self._finished(push)

    async def _schedule(self, push: _Push, failed: Sequence[tuple[Delivery, PushOutcome]],
                        pending: dict[str, Delivery], due: dict[str, datetime]) -> None:
        """Each retryable delivery's next try, or give it up (too many, or past `until`)."""
        now = self._clock.now()
        given_up = []
        for r, o in failed:
            wait = timedelta(seconds=self._wait(r.attempts, o))
            if r.attempts >= self._retry.max_attempts or now + wait >= push.until:
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
