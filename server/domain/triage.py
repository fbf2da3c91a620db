"""Triage: category, priority and the cues that decided them, from editable rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .records import Category, Priority, Triage


class RulesError(ValueError):
    """The triage rules file is malformed; the message says where."""


@dataclass(frozen=True)
class CategoryRule:
    """Patterns that, when matched, mean this category at this priority."""

    category: Category
    priority: Priority
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class TriageRules:
    """The compiled rules (see server/data/triage_rules.yaml for their meaning)."""

    chatter: tuple[re.Pattern[str], ...]
    urgency: tuple[re.Pattern[str], ...]
    downgrade: tuple[tuple[re.Pattern[str], Priority], ...]
    categories: tuple[CategoryRule, ...]


def _compile(raw: Any, where: str) -> re.Pattern[str]:
    if not isinstance(raw, str):
        raise RulesError(f"{where}: a pattern must be a string")
    try:
        return re.compile(raw)
    except re.error as exc:
        raise RulesError(f"{where}: {exc}") from None


def compile_rules(data: Mapping[str, Any]) -> TriageRules:
    """Compile rules loaded from YAML; raise RulesError naming the bad entry."""
    try:
        categories = tuple(
            CategoryRule(Category(c["category"]), Priority(c["priority"]),
                         tuple(_compile(p, f"categories[{i}].patterns[{j}]")
                               for j, p in enumerate(c["patterns"])))
            for i, c in enumerate(data["categories"]))
        downgrade = tuple((_compile(d["pattern"], f"downgrade[{i}]"), Priority(d["cap"]))
                          for i, d in enumerate(data.get("downgrade", [])))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RulesError):
            raise
        raise RulesError(f"malformed triage rules: {exc!r}") from None
    return TriageRules(
        chatter=tuple(_compile(p, f"chatter[{i}]") for i, p in enumerate(data.get("chatter", []))),
        urgency=tuple(_compile(p, f"urgency[{i}]") for i, p in enumerate(data.get("urgency", []))),
        downgrade=downgrade, categories=categories)


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str) -> str:
    """Lower case, straight quotes, collapsed whitespace."""
    return " ".join(text.translate(_QUOTES).lower().split())


def triage(text: str, rules: TriageRules) -> Triage:
    """Decide category and priority for one post; the cues say why."""
    clean = normalise(text)
    cues: list[str] = []
    for pattern in rules.chatter:
        for m in pattern.finditer(clean):
            cues.append(f"chatter:{m.group(0)}")
        clean = pattern.sub(" ", clean)
    best: CategoryRule | None = None
    for rule in rules.categories:
        hits = [m.group(0) for p in rule.patterns for m in p.finditer(clean)]
        if hits:
            cues.extend(f"{rule.category.value}:{h}" for h in dict.fromkeys(hits))
            if best is None or rule.priority.higher_than(best.priority):
                best = rule
    if best is None:
        return Triage(Category.OTHER, Priority.P4, tuple(cues))
    priority = best.priority
    if priority is Priority.P2:
        urgent = [m.group(0) for p in rules.urgency for m in p.finditer(clean)]
        if urgent:
            priority = Priority.P1
            cues.extend(f"urgency:{u}" for u in urgent)
    for pattern, cap in rules.downgrade:
        found = pattern.search(clean)
        if found and priority.higher_than(cap):
            priority = cap
            cues.append(f"downgrade:{found.group(0)}")
    return Triage(best.category, priority, tuple(cues))
