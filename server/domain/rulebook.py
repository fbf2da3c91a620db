"""The force's triage rules, compiled, and what they find in a post.

Pure and synchronous: the records the rules file (server/data/triage_rules.yaml) compiles to
(domain/triage_rules.py reads it), with the prefilters that choose which patterns to run on
a post (domain/prefilter.py), and the category, urgency and chatter hits of one post. The
decision that weighs them with the model's score is domain/triage.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from .prefilter import Prefilter
from .records import Category, Priority


class RulesError(ValueError):
    """The triage rules file is malformed; the message says where."""


@dataclass(frozen=True)
class CategoryRule:
    """Patterns that name this category; `priority` is what it gets when it alerts."""

    category: Category
    priority: Priority
    patterns: tuple[re.Pattern[str], ...]


def alternation(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str]:
    """One pattern matching where any of these does (compiled once per tuple)."""
    return _ALTERNATIONS.get(patterns) or _ALTERNATIONS.setdefault(
        patterns, re.compile("|".join(f"(?:{p.pattern})" for p in patterns) or r"(?!)"))


_ALTERNATIONS: dict[tuple[re.Pattern[str], ...], re.Pattern[str]] = {}


@dataclass(frozen=True)
class Override:
    """A force's rule: where `pattern` matches, and every one of `also` too, and `unless`
    does not, cap or floor the priority; with `max_words`, only in posts that short."""

    pattern: re.Pattern[str]
    priority: Priority
    category: Category | None = None
    also: tuple[re.Pattern[str], ...] = ()
    unless: re.Pattern[str] | None = None
    max_words: int | None = None

    def match(self, clean: str) -> re.Match[str] | None:
        """The match of `pattern` in a normalised post, if the rule applies to it."""
        # Whitespace is collapsed in a normalised post: its words are its spaces plus one,
        # counted before any pattern runs (every post is tried against every floor).
        if self.max_words is not None and clean.count(" ") >= self.max_words:
            return None
        found = self.pattern.search(clean)
        if (found is None or not all(p.search(clean) for p in self.also)
                or (self.unless is not None and self.unless.search(clean))):
            return None
        return found


@dataclass(frozen=True)
class Thresholds:
    """Score thresholds; None means the model's own calibrated value."""

    alert: float | None = None
    review: float | None = None
    p1: float = 0.7
    # A post the model files under one of these categories, at least this surely, goes to
    # review however low its score: quiet goodbyes read as self-harm to the category head
    # more surely than they read as urgent to the urgency head.
    review_categories: Mapping[Category, float] = field(default_factory=dict)
    # ... and one it files under one of these at least this surely alerts, if its score
    # is at least alert_categories_from: "took everything i could find. it's fine" is
    # urgent to a person, and far more surely self-harm than urgent to the model.
    alert_categories: Mapping[Category, float] = field(default_factory=dict)
    alert_categories_from: float = 0.15   # (the review band's floor let in recovery
                                          # stories: "a year ago i was on that bridge")
    # A post below the review band whose embedding comes this close (cosine) to one of the
    # corpus's urgent self-harm posts goes to review (None: never looked); the model looks
    # only when its category head gives the post at least review_near_from of self-harm.
    review_near: float | None = None
    review_near_from: float = 0.03
    # A post of at most terse_words words that the model puts in review from terse_from
    # alerts when a category rule of one of terse_categories names what happened: "i been
    # shot" and "heart attack on the train" have few words for the model to be sure of.
    terse_words: int | None = None
    terse_from: float = 0.4
    terse_categories: frozenset[Category] = frozenset()


@dataclass(frozen=True)
class ContextRules:
    """The most each kind of context allows (None: no cap)."""

    repost: Priority | None = Priority.P3
    quote: Priority | None = None
    reply: Priority | None = None
    news_link: Priority | None = Priority.P3
    far_km: float = 50.0
    far: Priority | None = Priority.P3
    stale_after: timedelta | None = timedelta(hours=6)
    stale: Priority | None = Priority.P3
    news_domains: frozenset[str] = frozenset()
    # After a post that alerted filed under one of these, the author's posts for this long
    # go to review at least (None: never).
    follow_up: timedelta | None = timedelta(hours=24)
    follow_up_categories: frozenset[Category] = frozenset({Category.SELF_HARM})


@dataclass(frozen=True)
class TriageRules:
    """The compiled rules file (see server/data/triage_rules.yaml for its meaning)."""

    chatter: tuple[re.Pattern[str], ...] = ()
    urgency: tuple[re.Pattern[str], ...] = ()
    downgrade: tuple[Override, ...] = ()
    floors: tuple[Override, ...] = ()
    categories: tuple[CategoryRule, ...] = ()
    thresholds: Thresholds = Thresholds()
    context: ContextRules = ContextRules()
    languages: tuple[str, ...] = ("en",)
    alert_priority: Mapping[Category, Priority] = field(default_factory=dict)

    @cached_property
    def floor_filter(self) -> Prefilter:
        """Which `raise` rules may match a post: every post meets every one of them."""
        return Prefilter([f.pattern for f in self.floors])

    @cached_property
    def downgrade_filter(self) -> Prefilter:
        """Which `downgrade` rules may match a post."""
        return Prefilter([o.pattern for o in self.downgrade])

    @cached_property
    def word_filter(self) -> Prefilter:
        """Which of the chatter phrases (0), the urgency phrases (1) and each category's
        rules (2 on) may match a post: they run on every post that alerts."""
        return Prefilter([alternation(self.chatter), alternation(self.urgency),
                          *[alternation(r.patterns) for r in self.categories]])


def matching(overrides: tuple[Override, ...], prefilter: Prefilter, clean: str
              ) -> list[tuple[Override, re.Match[str]]]:
    """The rules that apply to a normalised post, in file order, with their matches
    (only those the prefilter names are run: the others cannot match)."""
    run = prefilter.candidates(clean)
    return [(o, m) for i, o in enumerate(overrides) if i in run and (m := o.match(clean))]


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str) -> str:
    """Lower case, straight quotes, collapsed whitespace."""
    return " ".join(text.translate(_QUOTES).lower().split())


@dataclass(frozen=True)
class RuleHits:
    """What the rules found in one post."""

    cues: tuple[str, ...]
    categories: tuple[CategoryRule, ...]    # matched, in file order
    urgent: bool


def _category_hits(clean: str, rules: tuple[CategoryRule, ...], run: set[int]
                   ) -> list[tuple[int, str]]:
    """(rule index, matched text) for every category match, category by category (only
    those in `run`, word_filter's indices: the others cannot match)."""
    # One alternation per category: measured faster than one regex of named groups.
    return [(i, m.group(0)) for i, r in enumerate(rules) if i + _FIRST_CATEGORY in run
            for m in alternation(r.patterns).finditer(clean)]


NO_HITS = RuleHits((), (), False)
_CHATTER, _URGENCY, _FIRST_CATEGORY = 0, 1, 2   # word_filter's pattern indices


def match_rules(text: str, rules: TriageRules) -> RuleHits:
    """The category rules and urgency phrases in a post (chatter removed first)."""
    return match_clean(normalise(text), rules)


def match_clean(clean: str, rules: TriageRules) -> RuleHits:
    """match_rules for a post normalise() has already made clean."""
    cues: list[str] = []
    words = rules.word_filter
    run = words.candidates(clean)
    if _CHATTER in run:   # read again once chatter is removed: the text has changed
        chatter = alternation(rules.chatter)
        cues.extend(f"chatter:{m.group(0)}" for m in chatter.finditer(clean))
        clean = chatter.sub(" ", clean)
        run = words.candidates(clean)
    found: dict[int, list[str]] = {}
    for i, hit in _category_hits(clean, rules.categories, run):
        found.setdefault(i, []).append(hit)
    matched = [rules.categories[i] for i in sorted(found)]
    for i in sorted(found):
        cat = rules.categories[i].category.value
        cues.extend(f"{cat}:{h}" for h in dict.fromkeys(found[i]))
    urgent = ([m.group(0) for m in alternation(rules.urgency).finditer(clean)]
              if _URGENCY in run else [])
    cues.extend(f"urgency:{u}" for u in dict.fromkeys(urgent))
    return RuleHits(tuple(cues), tuple(matched), bool(urgent))
