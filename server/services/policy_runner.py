"""The escalation policy at work: start an incident's waves, perform each step at its
deadline (alone or with the others due with it), push again what a dead process left
unpushed, and start what a crash left unstarted. Every change is a guarded, versioned
transition; the people's actions on an incident are in escalation.py."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from ..domain import steps
from ..domain.errors import Conflict
from ..domain.escalation import EscalateToControlRoom, Policy, StepInput, next_step
from ..domain.lifecycle import Action, incident_allows
from ..domain.model import Officer
from ..domain.records import Alert, AlertStatus, Incident, IncidentStatus
from ..domain.transitions import Transition
from ..ports import AlertReads, Clock, IncidentReads, OfficerStore, TransitionStore
from .feed import EventFeed
from .geofence import GeofenceService
from .notify import Notifier
from .scheduler import StepScheduler

log = logging.getLogger(__name__)
# How often the sweep looks for pushes a dead process left undone.
REDELIVER_EVERY = timedelta(seconds=5)
MAX_ATTEMPTS = 8  # re-reads after losing a version race before giving up to the sweep


class StepsRun(NamedTuple):
    """What run_steps did: the incidents whose step it performed, the steps to retry."""
    performed: list[str]
    retry: list[tuple[str, int]]


class EscalationStore(TransitionStore, IncidentReads, AlertReads, OfficerStore, Protocol):
    """What escalation reads and writes: incidents and alerts, read and then committed as
    one versioned transition, and the officers it dispatches and marks committed."""


class PolicyRunner:
    """Applies the policy's decisions; every change is a guarded, versioned transition."""

    def __init__(self, store: EscalationStore, policy: Policy, notifier: Notifier,
                 geofence: GeofenceService, clock: Clock, scheduler: StepScheduler,
                 feed: EventFeed) -> None:
        self._store, self._policy, self._notifier = store, policy, notifier
        self._geofence, self._clock, self._feed = geofence, clock, feed
        self._scheduler = scheduler
        self._redelivered_at: datetime | None = None
        # Called with (incident id, officer id) after an acknowledgement commits; each must
        # return at once (the automatic receipt to the poster spawns its own task).
        self.on_acknowledged: list[Callable[[str, str], None]] = []

    async def _commit(self, t: Transition) -> bool:
        if not await self._store.commit_transition(t):
            return False
        self._committed(t)
        return True

    def _committed(self, t: Transition) -> None:
        """What follows a committed transition: wake readers, (re)arm its step, push."""
        self._feed.notify()
        inc = t.incident
        if inc.next_step_at is not None:
            self._scheduler.arm(inc.id, inc.step_seq, inc.next_step_at)
        else:
            self._scheduler.disarm(inc.id)
        for alert in t.alerts:
            self._announce(inc, alert)

    def _announce(self, inc: Incident, alert: Alert) -> None:
        """Pushes that follow a committed alert change."""
        if alert.status is AlertStatus.PENDING and not alert.declines:
            name = self._geofence.names.get(inc.neighbourhood_id or "")
            self._notifier.alert(alert, inc, name)
        elif alert.status is AlertStatus.ACKNOWLEDGED:
            others = [o for o in alert.recipients if o != alert.acknowledged_by]
            self._notifier.closed(alert, "alert_taken", others,
                                  taken_by=alert.acknowledged_by or "")
        elif alert.status in (AlertStatus.EXPIRED, AlertStatus.CANCELLED):
            self._notifier.closed(alert, "alert_closed", alert.recipients,
                                  reason=alert.status.value)

    def _target(self, inc: Incident) -> tuple[float, float] | None:
        if inc.lat is not None and inc.lon is not None:
            return inc.lat, inc.lon
        return self._geofence.centroid(inc.neighbourhood_id)

    async def _decide(self, inc: Incident, current: Alert | None,
                      now: datetime) -> Transition | None:
        """The first wave of a (re)start, decided from the officers on duty now."""
        # Read even for a priority without waves (most posts open P4 incidents, recorded
        # only), though its decision does not need them: skipping the read made
        # report-to-push under 200 posts/s worse, p50 37-50 ms against 19-26 ms over six
        # interleaved runs, and smaller calm commit batches did not win it back. (Likely
        # why: each calm start's read commits the batch left open before it, _settle.)
        officers = await self._store.on_duty_officers(now - self._policy.max_fix_age)
        return self._decided(inc, 0, current, AlertStatus.CANCELLED, now, officers)

    def _decided(self, inc: Incident, after_wave: int, current: Alert | None,
                 close_as: AlertStatus, now: datetime, officers: Sequence[Officer],
                 already: Sequence[str] = ()) -> Transition | None:
        """The policy's next step for the incident as a transition (pure: no store)."""
        decision = next_step(self._policy, StepInput(
            priority=inc.priority, after_wave=after_wave, target=self._target(inc),
            neighbourhood_id=inc.neighbourhood_id, already_alerted=already), officers, now)
        return steps.apply_decision(inc, decision, current=current, now=now, close_as=close_as)

    async def start(self, incident_id: str, known: Incident | None = None) -> None:
        """Start the policy for an open incident, or restart it at a higher priority for an
        alerting one or one escalated to the control room and not yet taken there (a P3
        "smell of gas" escalated at once, then joined by a P1 "explosion, people trapped").
        `known` is the incident as its ingest just committed it: the first try decides from
        it without reading it back (a stale one loses its version race, and is re-read)."""
        for _ in range(MAX_ATTEMPTS):
            inc = known if known is not None else await self._store.get_incident(incident_id)
            known = None
            if inc is None or not _may_start(inc):
                return
            current = await self._current(inc)
            now = self._clock.now()
            t = await self._decide(inc, current, now)
            if t is None or await self._commit(t):
                return
        log.warning("incident %s: start lost %d races; the sweep will retry", incident_id,
                    MAX_ATTEMPTS)

    async def start_many(self, incident_ids: Sequence[str]) -> list[str]:
        """start() for several incidents at once (those a batch opened): one read of them,
        one of the officers on duty, each decided alone, and every transition committed in
        one write, in place of three or four hops each.
        Returns the ids still to start() one by one: those that lost their version race
        (start re-reads and retries), and those with a current alert (a restart at a
        higher priority must read it and close it)."""
        found = await self._store.get_incidents(incident_ids)
        alone = [i.id for i in found if i.current_alert_id is not None and _may_start(i)]
        fresh = [i for i in found if i.current_alert_id is None and _may_start(i)]
        now = self._clock.now()
        officers: list[Officer] = []
        if any(self._policy.waves_for(i.priority) for i in fresh):   # else none is read
            officers = await self._store.on_duty_officers(now - self._policy.max_fix_age)
        ts: list[Transition] = []
        for inc in fresh:
            try:
                t = self._decided(inc, 0, None, AlertStatus.CANCELLED, now, officers)
            except Exception:   # this incident's problem: start() meets it again, and logs it
                alone.append(inc.id)
                continue
            if t is not None:
                ts.append(t)
        won = await self._store.commit_transitions(ts) if ts else []
        for t, ok in zip(ts, won, strict=True):
            if ok:
                self._committed(t)
            else:
                alone.append(t.incident.id)
        return alone

    async def run_step(self, incident_id: str, seq: int) -> bool:
        """Perform step `seq` if it is still due; True if this call performed it."""
        for _ in range(MAX_ATTEMPTS):
            inc = await self._store.get_incident(incident_id)
            now = self._clock.now()
            if (inc is None or inc.step_seq != seq or inc.next_step_at is None
                    or inc.next_step_at > now):
                return False  # done already, superseded, or not yet due
            alerts = await self._store.list_alerts(inc.id)
            officers = [] if _assigned(inc, alerts) else await self._store.on_duty_officers(
                now - self._policy.max_fix_age)
            try:
                t = self._stepped(inc, alerts, officers, now)
            except Conflict:
                return False  # someone has the incident (the table refuses the policy)
            if t is None:
                return False
            if await self._commit(t):
                return True
        return False

    async def run_steps(self, due: Sequence[tuple[str, int]]) -> StepsRun:
        """run_step for several steps that fell due together: one read of the incidents,
        one of their alerts, one of the officers on duty, each decided alone, and every
        transition committed in one write (1,000 deadlines a second apart otherwise queue
        behind each other's four or five hops).
        Returns the incidents whose step this call performed, and the steps to run_step one
        by one: those that lost their version race and those whose decision raised (run_step
        meets it again, and logs it)."""
        seqs: dict[str, set[int]] = {}
        for incident_id, seq in due:
            seqs.setdefault(incident_id, set()).add(seq)
        now = self._clock.now()
        ready = [i for i in await self._store.get_incidents(list(seqs))
                 if i.step_seq in seqs[i.id] and i.next_step_at is not None
                 and i.next_step_at <= now]
        if not ready:
            return StepsRun([], [])
        seq_read = {i.id: i.step_seq for i in ready}   # the transitions carry the next seq
        alerts = await self._store.list_alerts_of([i.id for i in ready])
        officers: list[Officer] = []
        if any(not _assigned(i, alerts[i.id]) for i in ready):   # else none is read
            officers = await self._store.on_duty_officers(now - self._policy.max_fix_age)
        alone: list[tuple[str, int]] = []
        ts: list[Transition] = []
        for inc in ready:
            try:
                t = self._stepped(inc, alerts[inc.id], officers, now)
            except Conflict:
                continue   # someone has the incident (the table refuses the policy)
            except Exception:
                alone.append((inc.id, inc.step_seq))
                continue
            if t is not None:
                ts.append(t)
        won = await self._store.commit_transitions(ts) if ts else []
        performed: list[str] = []
        for t, ok in zip(ts, won, strict=True):
            if ok:
                self._committed(t)
                performed.append(t.incident.id)
            else:
                alone.append((t.incident.id, seq_read[t.incident.id]))
        return StepsRun(performed, alone)

    async def run_due(self, due: Sequence[tuple[str, int]]) -> None:
        """Run steps that fell due together; those the batch hands back, one by one."""
        for incident_id, seq in (await self.run_steps(due)).retry:
            try:
                await self.run_step(incident_id, seq)
            except Exception:   # this step's problem, not the others': the sweep retries it
                log.exception("escalation step %s/%d failed; the sweep will retry", incident_id,
                              seq)

    def _stepped(self, inc: Incident, alerts: Sequence[Alert], officers: Sequence[Officer],
                 now: datetime) -> Transition | None:
        """The transition of the incident's due step, decided from what was read."""
        current = next((a for a in alerts if a.id == inc.current_alert_id), None)
        if current is not None and current.kind == steps.ASSIGNMENT:
            reason = f"assignment not acknowledged by {current.recipients[0]}"
            return steps.apply_decision(inc, EscalateToControlRoom(reason), current=current,
                                        now=now)
        already = [o for a in alerts for o in a.recipients] if inc.wave else []
        return self._decided(inc, inc.wave, current, AlertStatus.EXPIRED, now, officers,
                             already)

    async def _current(self, inc: Incident) -> Alert | None:
        return None if inc.current_alert_id is None else await self._store.get_alert(
            inc.current_alert_id)

    async def redeliver(self) -> int:
        """Push again what a dead process left unpushed, for every pending alert (the
        sweep runs this on every instance, so also right after a restart; at most every
        REDELIVER_EVERY, as a delivery counts as abandoned only after 20 s)."""
        now = self._clock.now()
        if self._redelivered_at is not None and now - self._redelivered_at < REDELIVER_EVERY:
            return 0
        self._redelivered_at = now
        pushed = 0
        for alert in await self._store.pending_alerts():
            inc = await self._store.get_incident(alert.incident_id)
            if inc is not None and inc.current_alert_id == alert.id:
                name = self._geofence.names.get(inc.neighbourhood_id or "")
                pushed += await self._notifier.redeliver(alert, inc, name)
        return pushed

    async def start_waiting(self) -> None:
        """Start incidents that need action but never started (a crash after ingest)."""
        for prio in self._policy.acting_priorities():
            for inc in await self._store.list_incidents(status=IncidentStatus.OPEN.value,
                                                        priority=prio.value, limit=100):
                await self.start(inc.id)


def _assigned(inc: Incident, alerts: Sequence[Alert]) -> bool:
    """The incident's current alert is an assignment (its step needs no officers)."""
    return any(a.id == inc.current_alert_id and a.kind == steps.ASSIGNMENT for a in alerts)


def _may_start(inc: Incident) -> bool:
    """Open, or the priority rose above the one the policy last ran at and nobody has the
    incident yet (the table: alerting, or escalated and not taken by the control room)."""
    if inc.status is IncidentStatus.OPEN:
        return True
    rose = inc.policy_priority is None or inc.priority.higher_than(inc.policy_priority)
    return rose and incident_allows(inc, Action.WAVE)
