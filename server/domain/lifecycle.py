"""The incident and alert state machines, as data: what each action may do from each state,
and the stable 409 code of every refusal. Every transition in steps.py asks here first."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import Conflict
from .records import Alert, AlertStatus, Incident, IncidentStatus


class Action(enum.StrEnum):
    """What may happen to an incident."""

    WAVE = "wave"                # the policy alerts a wave (start, next wave, priority rise)
    ESCALATE = "escalate"        # the policy hands it to the control room
    ACKNOWLEDGE = "acknowledge"  # a recipient takes the current alert
    DECLINE = "decline"          # a recipient declines the current alert
    TAKE = "take"                # a control-room operator takes the escalated incident
    ASSIGN = "assign"            # the control room sends it to one officer
    RESOLVE = "resolve"          # closed for good


class Stage(enum.StrEnum):
    """An incident's status as the machine sees it. Escalated splits in two: the control
    room takes an escalated incident once, and then the policy no longer restarts it."""

    OPEN = "open"
    ALERTING = "alerting"
    ESCALATED = "escalated"
    TAKEN = "taken"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Refused:
    """The action is not allowed from this state; `code` is the stable 409 code."""

    code: str


ALERT_CLOSED = "alert_closed"
ALREADY_ACKNOWLEDGED = "already_acknowledged"
ALREADY_TAKEN = "already_taken"
NOT_ESCALATED = "not_escalated"
INCIDENT_RESOLVED = "incident_resolved"
CODES = frozenset({ALERT_CLOSED, ALREADY_ACKNOWLEDGED, ALREADY_TAKEN, NOT_ESCALATED,
                   INCIDENT_RESOLVED})

_I = IncidentStatus
_RESOLVED, _CLOSED = Refused(INCIDENT_RESOLVED), Refused(ALERT_CLOSED)
_TAKEN, _ACKED, _NOT_ESC = (Refused(ALREADY_TAKEN), Refused(ALREADY_ACKNOWLEDGED),
                            Refused(NOT_ESCALATED))

# One row per stage, one column per Action in its order: the status after the action, or
# why not. The policy (wave, escalate) runs until someone has the incident, an officer or
# an operator; only an alerting incident has an alert to answer; the control room may send
# any live incident to an officer, and again (a reassignment); resolved is final.
_GRID: dict[Stage, tuple[IncidentStatus | Refused, ...]] = {
    #                   WAVE          ESCALATE       ACKNOWLEDGE      DECLINE
    #                   TAKE          ASSIGN         RESOLVE
    Stage.OPEN:         (_I.ALERTING, _I.ESCALATED,  _CLOSED,         _CLOSED,
                         _NOT_ESC,    _I.ALERTING,   _I.RESOLVED),
    Stage.ALERTING:     (_I.ALERTING, _I.ESCALATED,  _I.ACKNOWLEDGED, _I.ALERTING,
                         _NOT_ESC,    _I.ALERTING,   _I.RESOLVED),
    Stage.ESCALATED:    (_I.ALERTING, _I.ESCALATED,  _CLOSED,         _CLOSED,
                         _I.ESCALATED, _I.ALERTING,  _I.RESOLVED),
    Stage.TAKEN:        (_TAKEN,      _TAKEN,        _CLOSED,         _CLOSED,
                         _TAKEN,      _I.ALERTING,   _I.RESOLVED),
    Stage.ACKNOWLEDGED: (_ACKED,      _ACKED,        _ACKED,          _ACKED,
                         _NOT_ESC,    _I.ALERTING,   _I.RESOLVED),
    Stage.RESOLVED:     (_RESOLVED,) * len(Action),
}
INCIDENT_MACHINE: dict[tuple[Stage, Action], IncidentStatus | Refused] = {
    (stage, action): row[i] for stage, row in _GRID.items() for i, action in enumerate(Action)}

# An alert is answered once: from pending it may stay pending (one recipient declined) or
# close one way; a closed alert refuses everything, with a code saying why.
ALERT_MACHINE: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.PENDING: frozenset(AlertStatus),
    **{s: frozenset() for s in AlertStatus if s is not AlertStatus.PENDING},
}
ALERT_REFUSALS: dict[AlertStatus, Refused] = {
    **{s: _CLOSED for s in AlertStatus if s is not AlertStatus.PENDING},
    AlertStatus.ACKNOWLEDGED: _ACKED,
}


def stage_of(inc: Incident) -> Stage:
    """Where the incident is in the machine."""
    if inc.status is IncidentStatus.ESCALATED and inc.taken_by is not None:
        return Stage.TAKEN
    return Stage(inc.status.value)


def incident_allows(inc: Incident, action: Action) -> bool:
    """True if `action` may happen to the incident now."""
    return isinstance(INCIDENT_MACHINE[stage_of(inc), action], IncidentStatus)


def incident_after(inc: Incident, action: Action) -> IncidentStatus:
    """The incident's status after `action`, or a Conflict with the table's code."""
    outcome = INCIDENT_MACHINE[stage_of(inc), action]
    if isinstance(outcome, IncidentStatus):
        return outcome
    code = outcome.code
    detail = {
        ALREADY_TAKEN: f"incident {inc.id!r} was already taken by {inc.taken_by}",
        ALREADY_ACKNOWLEDGED: f"incident {inc.id!r} was already acknowledged by "
                              f"{inc.acknowledged_by}",
        NOT_ESCALATED: f"incident {inc.id!r} is {inc.status.value}, not escalated",
        INCIDENT_RESOLVED: f"incident {inc.id!r} is resolved",
    }.get(code, f"incident {inc.id!r} is {inc.status.value}: it has no alert to answer")
    raise Conflict(detail, code=code)


def alert_allows(alert: Alert, to: AlertStatus) -> bool:
    """True if the alert may move to `to`."""
    return to in ALERT_MACHINE[alert.status]


def alert_after(alert: Alert, to: AlertStatus) -> AlertStatus:
    """`to`, if the alert may move there; otherwise a Conflict with the table's code."""
    if alert_allows(alert, to):
        return to
    code = ALERT_REFUSALS[alert.status].code
    detail = (f"alert {alert.id!r} was already taken by {alert.acknowledged_by}"
              if code == ALREADY_ACKNOWLEDGED else f"alert {alert.id!r} is {alert.status.value}")
    raise Conflict(detail, code=code)
