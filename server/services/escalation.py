"""Escalation use cases: the policy's own (policy_runner.py: start, step at deadline), and
the people's actions on an incident: acknowledge, decline, take, assign, resolve."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from ..domain import steps
from ..domain.errors import Busy, NotFound
from ..domain.model import OfficerStatus
from ..domain.records import Alert, Incident, Outcome
from ..domain.transitions import Transition
from .policy_runner import MAX_ATTEMPTS, EscalationStore, PolicyRunner, StepsRun

__all__ = ["Escalation", "EscalationStore", "StepsRun"]

log = logging.getLogger(__name__)
ASSIGNMENT_ACK = timedelta(minutes=2)


class Escalation(PolicyRunner):
    """The policy's steps, and what officers and the control room do to an incident."""

    async def _guarded(self, incident_id: str,
                       change: Callable[[Incident, Alert | None], Transition],
                       alert_id: str | None = None) -> Transition:
        """Re-read and re-decide until the versioned commit wins (or the change refuses).
        The change sees the alert `alert_id` (or the incident's current one) as stored."""
        for _ in range(MAX_ATTEMPTS):
            inc = await self._store.get_incident(incident_id)
            if inc is None:
                raise NotFound("incident", incident_id)
            alert = (await self._store.get_alert(alert_id) if alert_id
                     else await self._current(inc))
            t = change(inc, alert)
            if await self._commit(t):
                return t
        raise Busy(f"incident {incident_id!r} kept changing while this was decided; retry")

    async def _incident_of(self, alert_id: str) -> str:
        alert = await self._store.get_alert(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        return alert.incident_id

    async def acknowledge(self, alert_id: str, officer_id: str) -> Alert:
        """First recipient wins; later ones get a Conflict naming who took it."""
        t = await self._guarded(await self._incident_of(alert_id), lambda inc, alert: (
            steps.acknowledge(inc, alert, alert_id, officer_id, self._clock.now())), alert_id)
        await self._commit_officer(officer_id, t.incident.id)
        for hook in self.on_acknowledged:
            try:
                hook(t.incident.id, officer_id)
            except Exception:  # the acknowledgement stands whatever a follower does
                log.exception("after acknowledging %s", t.incident.id)
        return t.alerts[0]

    async def _commit_officer(self, officer_id: str, incident_id: str) -> None:
        """The officer is now on this incident: the next dispatch looks for someone free."""
        try:
            await self._store.set_status(officer_id, OfficerStatus.COMMITTED, incident_id,
                                         self._clock.now())
        except Exception:  # the acknowledgement stands; the status is advisory for dispatch
            log.exception("could not mark %s committed to %s", officer_id, incident_id)

    async def decline(self, alert_id: str, officer_id: str, reason: str | None) -> Alert:
        """Record a decline; if all recipients declined, the next step runs at once."""
        everyone = False

        def change(inc: Incident, alert: Alert | None) -> Transition:
            nonlocal everyone
            t, everyone = steps.decline(inc, alert, alert_id, officer_id, reason,
                                        self._clock.now())
            return t

        t = await self._guarded(await self._incident_of(alert_id), change, alert_id)
        if everyone:
            await self.run_step(t.incident.id, t.incident.step_seq)
        return t.alerts[0]

    async def take(self, incident_id: str, operator: str) -> Incident:
        """A control-room operator takes an escalated incident."""
        t = await self._guarded(incident_id, lambda inc, _: steps.take(
            inc, operator, self._clock.now()))
        return t.incident

    async def assign(self, incident_id: str, officer_id: str, operator: str) -> Incident:
        """Send the incident to one officer, who must acknowledge in time."""
        if await self._store.get_officer(officer_id) is None:
            raise NotFound("officer", officer_id)
        timeout = ASSIGNMENT_ACK
        t = await self._guarded(incident_id, lambda inc, cur: steps.assign(
            inc, cur, officer_id, operator, self._clock.now() + timeout, self._clock.now()))
        await self._commit_officer(officer_id, incident_id)
        return t.incident

    async def resolve(self, incident_id: str, actor: str, note: str | None,
                      outcome: Outcome | None = None) -> Incident:
        """Close the incident, recording what it turned out to be."""
        t = await self._guarded(incident_id, lambda inc, cur: steps.resolve(
            inc, cur, actor, note, self._clock.now(), outcome))
        for officer in await self._store.list_officers():   # free whoever was on it
            if officer.status_incident_id == incident_id:
                await self._store.set_status(officer.id, OfficerStatus.AVAILABLE, None,
                                             self._clock.now(), only_if_incident=incident_id)
        return t.incident
