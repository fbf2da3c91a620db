"""The triage rules file (server/data/triage_rules.yaml), compiled: every pattern checked
and every entry named when it is wrong. Pure: the caller reads the YAML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .records import Category, Priority
from .rulebook import (
    CategoryRule,
    ContextRules,
    Override,
    RulesError,
    Thresholds,
    TriageRules,
)


def _compile(raw: Any, where: str) -> re.Pattern[str]:
    if not isinstance(raw, str):
        raise RulesError(f"{where}: a pattern must be a string")
    try:
        return re.compile(raw)
    except re.error as exc:
        raise RulesError(f"{where}: {exc}") from None


def _overrides(raw: Any, key: str, name: str) -> tuple[Override, ...]:
    def one(i: int, d: Mapping[str, Any]) -> Override:
        also = d.get("also") or []
        if isinstance(also, str) or not isinstance(also, list):
            raise RulesError(f"{name}[{i}].also: a list of patterns")
        max_words = d.get("max_words")
        if max_words is not None and (isinstance(max_words, bool)
                                      or not isinstance(max_words, int) or max_words < 1):
            raise RulesError(f"{name}[{i}].max_words: a whole number of words, at least 1")
        return Override(
            _compile(d["pattern"], f"{name}[{i}]"), Priority(d[key]),
            Category(d["category"]) if d.get("category") else None,
            also=tuple(_compile(p, f"{name}[{i}].also[{j}]") for j, p in enumerate(also)),
            unless=_compile(d["unless"], f"{name}[{i}].unless") if d.get("unless") else None,
            max_words=max_words)

    return tuple(one(i, d) for i, d in enumerate(raw or []))


def _threshold(raw: Any, name: str) -> float | None:
    if raw is None or raw == "auto":
        return None
    if not isinstance(raw, int | float) or not 0 <= raw <= 1:
        raise RulesError(f"bands.{name}: a score between 0 and 1, or auto")
    return float(raw)


def _near(raw: Any) -> float | None:
    if raw is None or raw == "none":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 1:
        raise RulesError("bands.review_near: a cosine above 0, at most 1, or none")
    return float(raw)


def _category_probabilities(raw: Any, name: str) -> dict[Category, float]:
    """bands.review_categories / bands.alert_categories: category -> probability."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RulesError(f"bands.{name}: a map of category to probability")
    found: dict[Category, float] = {}
    for key, p in raw.items():
        try:
            category = Category(key)
        except ValueError:
            raise RulesError(f"bands.{name}: unknown category {key!r}") from None
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
            raise RulesError(f"bands.{name}.{key}: a probability above 0, at most 1")
        found[category] = float(p)
    return found


def _terse(raw: Any) -> tuple[int | None, float, frozenset[Category]]:
    """bands.terse: {max_words, from, categories}, or none (never)."""
    if raw is None or raw == "none":
        return None, 0.4, frozenset()
    if not isinstance(raw, Mapping):
        raise RulesError("bands.terse: max_words, from and categories, or none")
    words = raw.get("max_words")
    if isinstance(words, bool) or not isinstance(words, int) or words < 1:
        raise RulesError("bands.terse.max_words: a whole number of words, at least 1")
    start = _threshold(raw.get("from"), "terse.from")
    if start is None:
        raise RulesError("bands.terse.from: a score between 0 and 1")
    names = raw.get("categories")
    if not isinstance(names, list) or not names:
        raise RulesError("bands.terse.categories: a list of categories")
    try:
        return words, start, frozenset(Category(c) for c in names)
    except ValueError:
        raise RulesError(f"bands.terse.categories: unknown category in {names!r}") from None


def _context(raw: Mapping[str, Any]) -> ContextRules:
    def cap(name: str, default: Priority | None) -> Priority | None:
        value = raw.get(name, default.value if default else None)
        return None if value in (None, "none") else Priority(value)

    base = ContextRules()
    stale = raw.get("stale_after_minutes", 360)
    follow = raw.get("follow_up_hours", 24)
    if follow is not None and (isinstance(follow, bool) or not isinstance(follow, int | float)
                               or follow <= 0):
        raise RulesError("context.follow_up_hours: a number of hours above 0, or none")
    try:
        follow_categories = frozenset(
            Category(c) for c in raw.get("follow_up_categories", ["self_harm"]))
    except (TypeError, ValueError):
        raise RulesError("context.follow_up_categories: a list of categories") from None
    return ContextRules(
        repost=cap("repost", base.repost), quote=cap("quote", base.quote),
        reply=cap("reply", base.reply), news_link=cap("news_link", base.news_link),
        far_km=float(raw.get("far_km", base.far_km)), far=cap("far", base.far),
        stale_after=None if stale is None else timedelta(minutes=float(stale)),
        stale=cap("stale", base.stale),
        news_domains=frozenset(str(d).lower() for d in raw.get("news_domains", [])),
        follow_up=None if follow is None else timedelta(hours=float(follow)),
        follow_up_categories=follow_categories)


def compile_rules(data: Mapping[str, Any]) -> TriageRules:
    """Compile rules loaded from YAML; raise RulesError naming the bad entry."""
    try:
        categories = tuple(
            CategoryRule(Category(c["category"]), Priority(c["priority"]),
                         tuple(_compile(p, f"categories[{i}].patterns[{j}]")
                               for j, p in enumerate(c["patterns"])))
            for i, c in enumerate(data["categories"]))
        bands = data.get("bands") or {}
        thresholds = Thresholds(_threshold(bands.get("alert"), "alert"),
                                _threshold(bands.get("review"), "review"),
                                _threshold(bands.get("p1", 0.7), "p1") or 0.7,
                                _category_probabilities(bands.get("review_categories"),
                                                        "review_categories"),
                                _category_probabilities(bands.get("alert_categories"),
                                                        "alert_categories"),
                                _threshold(bands.get("alert_categories_from", 0.15),
                                           "alert_categories_from") or 0.0,
                                _near(bands.get("review_near")),
                                _threshold(bands.get("review_near_from", 0.03),
                                           "review_near_from") or 0.0,
                                *_terse(bands.get("terse")))
        rules = TriageRules(
            chatter=tuple(_compile(p, f"chatter[{i}]")
                          for i, p in enumerate(data.get("chatter", []))),
            urgency=tuple(_compile(p, f"urgency[{i}]")
                          for i, p in enumerate(data.get("urgency", []))),
            downgrade=_overrides(data.get("downgrade"), "cap", "downgrade"),
            floors=_overrides(data.get("raise"), "floor", "raise"),
            categories=categories, thresholds=thresholds,
            context=_context(data.get("context") or {}),
            languages=tuple(str(x) for x in data.get("languages", ["en"])),
            alert_priority={c.category: c.priority for c in categories})
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RulesError):
            raise
        raise RulesError(f"malformed triage rules: {exc!r}") from None
    return rules
