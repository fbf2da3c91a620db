"""The state machines as data (pure, no I/O): every (state, action) pair against a table
written out here independently, and every step function agreeing with the machine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from server.domain import lifecycle, steps
from server.domain.dispatch import Pick
from server.domain.errors import Conflict
from server.domain.escalation import EscalateToControlRoom, StartWave
from server.domain.grouping import open_incident
from server.domain.lifecycle import Action, Stage
from server.domain.records import (
    Alert,
    AlertStatus,
    Category,
    Incident,
    IncidentStatus,
    Priority,
    Report,
    Triage,
)
from server.domain.transitions import Transition

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

# What each action does from each stage: a status (allowed, and where it leads) or the
# 409 code of the refusal. Columns in this order:
ACTIONS = [Action.WAVE, Action.ESCALATE, Action.ACKNOWLEDGE, Action.DECLINE, Action.TAKE,
           Action.ASSIGN, Action.RESOLVE]
EXPECTED = """
open          alerting      escalated     alert_closed  alert_closed  not_escalated alerting resolved
alerting      alerting      escalated     acknowledged  alerting      not_escalated alerting resolved
escalated     alerting      escalated     alert_closed  alert_closed  escalated     alerting resolved
taken         already_taken already_taken alert_closed  alert_closed  already_taken alerting resolved
acknowledged  already_acknowledged already_acknowledged already_acknowledged already_acknowledged not_escalated alerting resolved
resolved      incident_resolved incident_resolved incident_resolved incident_resolved incident_resolved incident_resolved incident_resolved
"""  # noqa: E501
# The codes the API documents (README, openapi.yaml): a refusal never invents another.
DOCUMENTED = {"already_acknowledged", "alert_closed", "already_taken", "not_escalated",
              "incident_resolved"}


def expected() -> dict[tuple[Stage, Action], str]:
    table: dict[tuple[Stage, Action], str] = {}
    for line in EXPECTED.strip().splitlines():
        stage, *cells = line.split()
        assert len(cells) == len(ACTIONS), line
        table.update({(Stage(stage), a): c for a, c in zip(ACTIONS, cells, strict=True)})
    return table


def outcome(result: IncidentStatus | lifecycle.Refused) -> str:
    return result.value if isinstance(result, IncidentStatus) else result.code


PAIRS = [(s, a) for s in Stage for a in Action]


def test_the_incident_table_is_total_and_as_written() -> None:
    assert set(lifecycle.INCIDENT_MACHINE) == set(PAIRS)
    assert set(ACTIONS) == set(Action)
    assert {k: outcome(v) for k, v in lifecycle.INCIDENT_MACHINE.items()} == expected()
    codes = {v.code for v in lifecycle.INCIDENT_MACHINE.values()
             if isinstance(v, lifecycle.Refused)}
    assert codes == DOCUMENTED == lifecycle.CODES


def test_the_policy_runs_from_the_same_stages_whatever_it_decides() -> None:
    # Escalation.start asks whether a wave may start before the policy has decided.
    for stage in Stage:
        assert (isinstance(lifecycle.INCIDENT_MACHINE[stage, Action.WAVE], IncidentStatus)
                == isinstance(lifecycle.INCIDENT_MACHINE[stage, Action.ESCALATE],
                              IncidentStatus)), stage


def test_an_alert_moves_only_out_of_pending_and_says_why_not() -> None:
    for old in AlertStatus:
        for new in AlertStatus:
            a = alert(old)
            if old is AlertStatus.PENDING:
                assert lifecycle.alert_after(a, new) is new
                continue
            assert not lifecycle.alert_allows(a, new)
            with pytest.raises(Conflict) as info:
                lifecycle.alert_after(a, new)
            want = ("already_acknowledged" if old is AlertStatus.ACKNOWLEDGED
                    else "alert_closed")
            assert (info.value.code, info.value.status) == (want, 409), (old, new)


def report() -> Report:
    return Report(id="r1", source="x", external_id="r1", text="help", posted_at=T0,
                  received_at=T0, triage=Triage(Category.VIOLENCE, Priority.P1),
                  lat=51.5, lon=-0.12, neighbourhood_id="stj")


def alert(status: AlertStatus = AlertStatus.PENDING) -> Alert:
    return Alert(id="alr1", incident_id="inc", wave=1, kind=steps.WAVE,
                 priority=Priority.P1, recipients=("a", "b"), status=status, created_at=T0,
                 deadline=T0 + timedelta(seconds=30),
                 acknowledged_by="a" if status is AlertStatus.ACKNOWLEDGED else None)


def incident_in(stage: Stage) -> Incident:
    status = IncidentStatus.ESCALATED if stage is Stage.TAKEN else IncidentStatus(stage.value)
    inc = replace(open_incident(report(), T0), status=status, current_alert_id="alr1",
                  taken_by="op0" if stage is Stage.TAKEN else None)
    assert lifecycle.stage_of(inc) is stage
    return inc


WAVE = StartWave(1, (Pick("a", 10.0, False),), T0 + timedelta(seconds=30))
STEPS: dict[Action, Callable[[Incident], Transition | None]] = {
    Action.WAVE: lambda inc: steps.apply_decision(inc, WAVE, current=alert(), now=T0),
    Action.ESCALATE: lambda inc: steps.apply_decision(inc, EscalateToControlRoom("x"),
                                                      current=alert(), now=T0),
    Action.ACKNOWLEDGE: lambda inc: steps.acknowledge(inc, alert(), "alr1", "a", T0),
    Action.DECLINE: lambda inc: steps.decline(inc, alert(), "alr1", "a", None, T0)[0],
    Action.TAKE: lambda inc: steps.take(inc, "op1", T0),
    Action.ASSIGN: lambda inc: steps.assign(inc, alert(), "b", "op1", T0, T0),
    Action.RESOLVE: lambda inc: steps.resolve(inc, alert(), "op1", None, T0),
}


@pytest.mark.parametrize(("stage", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_every_step_function_does_what_the_table_says(stage: Stage, action: Action) -> None:
    want = expected()[stage, action]
    inc = incident_in(stage)
    if want in DOCUMENTED:
        with pytest.raises(Conflict) as info:
            STEPS[action](inc)
        assert (info.value.code, info.value.status) == (want, 409)
        return
    t = STEPS[action](inc)
    assert t is not None and t.incident.status.value == want
    assert t.incident.id == inc.id and t.incident.version == inc.version
