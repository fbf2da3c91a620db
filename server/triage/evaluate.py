"""Evaluation of the whole triage (model, language route and rules) on labelled posts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.records import Priority, Triage
from .corpus import Example
from .triager import Triager

CURVE = [round(0.05 * i, 2) for i in range(1, 20)]


@dataclass(frozen=True)
class Judged:
    """One labelled post and the verdict it got."""

    example: Example
    verdict: Triage


def judge(triager: Triager, examples: Sequence[Example]) -> list[Judged]:
    """Triage every example (as a connector with no context would send it)."""
    return [Judged(e, triager.triage(e.text)) for e in examples]


def _share(items: Sequence[Judged], *prios: Priority) -> float:
    return sum(j.verdict.priority in prios for j in items) / len(items) if items else 0.0


def summary(judged: Sequence[Judged]) -> dict[str, Any]:
    """The figures the README quotes, as a dict (also printed by `report`)."""
    urgent = [j for j in judged if j.example.urgent]
    calm = [j for j in judged if not j.example.urgent]
    by_cat: dict[str, list[Judged]] = defaultdict(list)
    for j in urgent:
        by_cat[j.example.category].append(j)
    by_kind: dict[str, list[Judged]] = defaultdict(list)
    for j in calm:
        by_kind[j.example.kind or "-"].append(j)
    urgent_kinds: dict[str, list[Judged]] = defaultdict(list)
    for j in urgent:
        urgent_kinds[j.example.kind or "-"].append(j)
    scored = [j for j in judged if j.verdict.score is not None]
    curve = []
    for t in CURVE:
        pos = [j for j in scored if j.example.urgent]
        neg = [j for j in scored if not j.example.urgent]
        curve.append({"threshold": t,
                      "recall": _ratio(sum((j.verdict.score or 0) >= t for j in pos), len(pos)),
                      "false_alarms": _ratio(sum((j.verdict.score or 0) >= t for j in neg),
                                             len(neg))})
    return {
        "posts": len(judged), "urgent": len(urgent), "calm": len(calm),
        "urgent_p1": round(_share(urgent, Priority.P1), 4),
        "urgent_alert": round(_share(urgent, Priority.P1, Priority.P2), 4),
        "urgent_p4": sum(j.verdict.priority is Priority.P4 for j in urgent),
        "calm_alert": round(_share(calm, Priority.P1, Priority.P2), 4),
        "calm_review": round(_share(calm, Priority.P3), 4),
        "recall_by_category": {c: {"n": len(js), "alert": round(_share(js, Priority.P1,
                                                                       Priority.P2), 4),
                                   "p1": round(_share(js, Priority.P1), 4),
                                   "category_right": round(sum(
                                       j.verdict.category.value == c for j in js) / len(js), 4)}
                               for c, js in sorted(by_cat.items())},
        # How each way of asking for help fares (silent reports, second-hand, implied).
        "recall_by_kind": {k: {"n": len(js), "alert": round(_share(js, Priority.P1,
                                                                   Priority.P2), 4),
                               "p1": round(_share(js, Priority.P1), 4),
                               "p4": sum(j.verdict.priority is Priority.P4 for j in js)}
                           for k, js in sorted(urgent_kinds.items())},
        "false_alarms_by_kind": {k: {"n": len(js), "alert": round(_share(js, Priority.P1,
                                                                         Priority.P2), 4),
                                     "review": round(_share(js, Priority.P3), 4)}
                                 for k, js in sorted(by_kind.items())},
        "confusion": {truth: dict(sorted(Counter(j.verdict.priority.value for j in js).items()))
                      for truth, js in (("urgent", urgent), ("calm", calm))},
        "curve": curve,
    }


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def report(s: dict[str, Any]) -> str:
    """The summary as text for a terminal."""
    lines = [f"{s['posts']} posts: {s['urgent']} urgent, {s['calm']} calm", ""]
    if s["urgent"]:
        lines += [f"urgent -> P1 {s['urgent_p1']:.1%}, alert (P1/P2) {s['urgent_alert']:.1%}, "
                  f"left at P4: {s['urgent_p4']}", "",
                  "recall by category      n   alert     P1  category right"]
        lines += [f"  {c:<18} {v['n']:>5} {v['alert']:>7.1%} {v['p1']:>6.1%} "
                  f"{v['category_right']:>8.1%}" for c, v in s["recall_by_category"].items()]
        lines += ["", "recall by kind          n   alert     P1   at P4"]
        lines += [f"  {k:<18} {v['n']:>5} {v['alert']:>7.1%} {v['p1']:>6.1%} {v['p4']:>7}"
                  for k, v in s["recall_by_kind"].items()]
        lines.append("")
    if s["calm"]:
        lines += [f"calm -> alert {s['calm_alert']:.1%} (false alarms), review "
                  f"{s['calm_review']:.1%}", "", "false alarms by kind      n   alert  review"]
        lines += [f"  {k:<20} {v['n']:>5} {v['alert']:>7.1%} {v['review']:>6.1%}"
                  for k, v in s["false_alarms_by_kind"].items()]
        lines.append("")
    lines.append("confusion (truth x priority)     P1     P2     P3     P4")
    for truth, row in s["confusion"].items():
        lines.append(f"  {truth:<28}" + "".join(f"{row.get(p, 0):>7}"
                                               for p in ("P1", "P2", "P3", "P4")))
    lines += ["", "threshold curve (model score)  recall  false alarms"]
    lines += [f"  {c['threshold']:>6.2f} {c['recall']:>20.1%} {c['false_alarms']:>12.1%}"
              for c in s["curve"]]
    return "\n".join(lines)
