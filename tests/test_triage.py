"""Triage cases we check: the quiet emergencies people write, and the chatter we ignore."""

from __future__ import annotations

import pytest

from server.domain.records import Category, Priority
from server.domain.triage import RulesError, compile_rules, triage
from server.rules import load_triage_rules

RULES = load_triage_rules(None)

EMERGENCIES = [
    ("burglar downstairs, can't make a sound", Category.CRIME_IN_PROGRESS),
    ("Someone is breaking in downstairs", Category.CRIME_IN_PROGRESS),
    ("there's an intruder in the garden", Category.CRIME_IN_PROGRESS),
    ("my neighbour can't breathe", Category.MEDICAL),
    ("My dad can’t breathe please help", Category.MEDICAL),
    ("man collapsed outside the station, not breathing", Category.MEDICAL),
    ("I want to end it", Category.SELF_HARM),
    ("someone on the bridge says goodbye", Category.SELF_HARM),
    ("i don't want to be here anymore", Category.SELF_HARM),
    ("he has a knife", Category.VIOLENCE),
    ("guy waving a machete on the high street", Category.VIOLENCE),
    ("shots fired near the park", Category.VIOLENCE),
    ("massive explosion on Whitehall, smoke everywhere", Category.FIRE),
    ("the block of flats is on fire", Category.FIRE),
]

CHATTER = [
    "this traffic is killing me",
    "fire playlist for the weekend",
    "this album is fire",
    "I'm dying of laughter",
    "can't breathe from laughing 😂",
    "she absolutely killed it on stage",
    "lovely sunny day in the park",
    "the gym is killing me",
]


@pytest.mark.parametrize(("text", "category"), EMERGENCIES)
def test_quiet_emergencies_are_p1(text: str, category: Category) -> None:
    verdict = triage(text, RULES)
    assert (verdict.category, verdict.priority) == (category, Priority.P1), verdict
    assert verdict.cues, "the cues that decided must be kept"


@pytest.mark.parametrize("text", CHATTER)
def test_chatter_does_not_alert(text: str) -> None:
    verdict = triage(text, RULES)
    assert verdict.priority in (Priority.P3, Priority.P4), verdict


def test_not_an_emergency_is_capped() -> None:
    verdict = triage("not an emergency but the streetlight is out on Elm Road", RULES)
    assert verdict.priority is Priority.P3 or verdict.priority is Priority.P4
    verdict = triage("not an emergency but someone has a knife", RULES)
    assert verdict.priority is Priority.P3 and any(c.startswith("downgrade") for c in verdict.cues)


def test_urgency_raises_p2_to_p1() -> None:
    assert triage("my son hasn't come home", RULES).priority is Priority.P2
    verdict = triage("my son hasn't come home please help", RULES)
    assert verdict.priority is Priority.P1 and verdict.category is Category.MISSING_PERSON


def test_most_urgent_rule_wins() -> None:
    verdict = triage("car crash and the driver is not breathing", RULES)
    assert (verdict.category, verdict.priority) == (Category.MEDICAL, Priority.P1)
    assert {"traffic:crash", "medical:not breathing"} <= set(verdict.cues)


def test_bad_rules_are_named() -> None:
    with pytest.raises(RulesError, match=r"categories\[0\].patterns\[0\]"):
        compile_rules({"categories": [{"category": "fire", "priority": "P1",
                                       "patterns": ["(unclosed"]}]})
    with pytest.raises(RulesError):
        compile_rules({"categories": [{"category": "aliens", "priority": "P1", "patterns": []}]})
