"""Pure state changes of the alert loop: each returns the Transition to commit, or refuses.
Whether a change is allowed, and the refusal's code, is lifecycle.py's table."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .errors import DomainError, NotFound
from .escalation import Decision, EscalateToControlRoom, RecordOnly, StartWave
from .lifecycle import Action, alert_after, alert_allows, incident_after
from .records import Alert, AlertStatus, Event, Incident, Outcome, new_id
from .transitions import Transition

ASSIGNMENT = "assignment"
WAVE = "wave"


class NotRecipient(DomainError):
    """An officer acting on an alert that was not sent to them."""

    code = "not_a_recipient"
    status = 403
    title = "Forbidden"


def _event(kind: str, inc: Incident, now: datetime, actor: str | None = None,
           alert_id: str | None = None, **data: object) -> Event:
    return Event(kind=kind, at=now, incident_id=inc.id, alert_id=alert_id, actor=actor,
                 data={"status": inc.status.value, "priority": inc.priority.value, **data})


def _close(alert: Alert | None, status: AlertStatus, now: datetime) -> tuple[Alert, ...]:
    """The alert closed as `status`, or nothing if it is closed already."""
    if alert is None or not alert_allows(alert, status):
        return ()
    return (replace(alert, status=status, closed_at=now),)


def apply_decision(inc: Incident, decision: Decision, *, current: Alert | None, now: datetime,
                   close_as: AlertStatus = AlertStatus.EXPIRED) -> Transition | None:
    """Turn an escalation decision into the change to commit (None: nothing to do); a
    Conflict if someone has the incident already (acknowledged, taken, resolved)."""
    closed = _close(current, close_as, now)
    events = [_event(f"alert_{a.status.value}", inc, now, alert_id=a.id) for a in closed]
    if isinstance(decision, RecordOnly):
        return None
    if isinstance(decision, StartWave):
        alert = Alert(id=new_id("alr", now), incident_id=inc.id, wave=decision.wave, kind=WAVE,
                      priority=inc.priority, recipients=tuple(p.officer_id
                                                              for p in decision.recipients),
                      status=AlertStatus.PENDING, created_at=now, deadline=decision.deadline)
        new = replace(inc, status=incident_after(inc, Action.WAVE), wave=decision.wave,
                      policy_priority=inc.priority, current_alert_id=alert.id,
                      alerted=alert.recipients, next_step_at=decision.deadline,
                      step_seq=inc.step_seq + 1, updated_at=now)
        events += [_event("wave_skipped", new, now, wave=w) for w in decision.skipped]
        events.append(_event("alert_sent", new, now, alert_id=alert.id, wave=decision.wave,
                             recipients=[{"officer_id": p.officer_id, "distance_m": p.distance_m,
                                          "assigned": p.assigned} for p in decision.recipients],
                             deadline=decision.deadline.isoformat()))
        return Transition(new, alerts=(*closed, alert), events=tuple(events))
    assert isinstance(decision, EscalateToControlRoom)
    new = replace(inc, status=incident_after(inc, Action.ESCALATE), escalated_at=now,
                  escalation_reason=decision.reason, policy_priority=inc.priority,
                  current_alert_id=None, next_step_at=None,
                  step_seq=inc.step_seq + 1, taken_by=None, taken_at=None, updated_at=now)
    events += [_event("wave_skipped", new, now, wave=w) for w in decision.skipped]
    events.append(_event("escalated", new, now, reason=decision.reason))
    return Transition(new, alerts=closed, events=tuple(events))


def _answerable(alert: Alert | None, officer_id: str, alert_id: str, to: AlertStatus) -> Alert:
    """The alert, if this officer may move it to `to` (the alert's own refusal first: the
    officer asked about the alert, so its code says what became of it)."""
    if alert is None:
        raise NotFound("alert", alert_id)
    if officer_id not in alert.recipients:
        raise NotRecipient(f"alert {alert_id!r} was not sent to you")
    alert_after(alert, to)
    return alert


def acknowledge(inc: Incident, alert: Alert | None, alert_id: str, officer_id: str,
                now: datetime) -> Transition:
    """The first recipient to acknowledge takes the incident."""
    pending = _answerable(alert, officer_id, alert_id, AlertStatus.ACKNOWLEDGED)
    status = incident_after(inc, Action.ACKNOWLEDGE)
    taken = replace(pending, status=AlertStatus.ACKNOWLEDGED, acknowledged_by=officer_id,
                    acknowledged_at=now, closed_at=now)
    new = replace(inc, status=status, acknowledged_by=officer_id,
                  acknowledged_at=now, next_step_at=None, step_seq=inc.step_seq + 1,
                  current_alert_id=None, updated_at=now)
    return Transition(new, alerts=(taken,), events=(
        _event("acknowledged", new, now, actor=officer_id, alert_id=pending.id,
               wave=pending.wave),))


def decline(inc: Incident, alert: Alert | None, alert_id: str, officer_id: str,
            reason: str | None, now: datetime) -> tuple[Transition, bool]:
    """Record a decline; when every recipient has declined, the next step is due now."""
    pending = _answerable(alert, officer_id, alert_id, AlertStatus.PENDING)
    declines = {**pending.declines, officer_id: reason}
    everyone = set(declines) >= set(pending.recipients)
    to = AlertStatus.DECLINED_ALL if everyone else AlertStatus.PENDING
    updated = replace(pending, status=alert_after(pending, to), declines=declines)
    new = replace(inc, status=incident_after(inc, Action.DECLINE), updated_at=now)
    if everyone:
        updated = replace(updated, closed_at=now)
        new = replace(new, next_step_at=now, step_seq=inc.step_seq + 1)
    events = [_event("declined", new, now, actor=officer_id, alert_id=pending.id,
                     reason=reason)]
    if everyone:
        events.append(_event("alert_declined_all", new, now, alert_id=pending.id))
    return Transition(new, alerts=(updated,), events=tuple(events)), everyone


def take(inc: Incident, operator: str, now: datetime) -> Transition:
    """A control-room operator takes an escalated incident (once)."""
    new = replace(inc, status=incident_after(inc, Action.TAKE), taken_by=operator,
                  taken_at=now, updated_at=now)
    return Transition(new, events=(_event("taken", new, now, actor=operator),))


def assign(inc: Incident, current: Alert | None, officer_id: str, operator: str,
           ack_deadline: datetime, now: datetime) -> Transition:
    """The control room sends the incident to one officer; unacknowledged, it comes back."""
    status = incident_after(inc, Action.ASSIGN)
    closed = _close(current, AlertStatus.CANCELLED, now)
    alert = Alert(id=new_id("alr", now), incident_id=inc.id, wave=0, kind=ASSIGNMENT,
                  priority=inc.priority, recipients=(officer_id,), status=AlertStatus.PENDING,
                  created_at=now, deadline=ack_deadline)
    new = replace(inc, status=status, assigned_to=officer_id,
                  current_alert_id=alert.id, alerted=alert.recipients, next_step_at=ack_deadline,
                  step_seq=inc.step_seq + 1, updated_at=now)
    events = [_event("alert_cancelled", new, now, alert_id=a.id) for a in closed]
    events.append(_event("assigned", new, now, actor=operator, alert_id=alert.id,
                         officer_id=officer_id, deadline=ack_deadline.isoformat()))
    return Transition(new, alerts=(*closed, alert), events=tuple(events))


def resolve(inc: Incident, current: Alert | None, actor: str, note: str | None,
            now: datetime, outcome: Outcome | None = None) -> Transition:
    """Close the incident for good; a pending alert is cancelled."""
    status = incident_after(inc, Action.RESOLVE)
    closed = _close(current, AlertStatus.CANCELLED, now)
    new = replace(inc, status=status, resolved_at=now, resolved_by=actor,
                  resolution_note=note, outcome=outcome, next_step_at=None,
                  current_alert_id=None,
                  step_seq=inc.step_seq + 1, updated_at=now)
    events = [_event("alert_cancelled", new, now, alert_id=a.id) for a in closed]
    events.append(_event("resolved", new, now, actor=actor, note=note,
                         outcome=None if outcome is None else outcome.value))
    return Transition(new, alerts=closed, events=tuple(events))
