"""Triage decision: the model's score decides the band; the force's rules explain and override.

Pure and synchronous. The learned model (server/triage/) answers "does someone need help
now?" with a score and "what kind?" with a category; this module turns that, the post's
context and the force's editable rules (server/data/triage_rules.yaml, compiled to
domain/rulebook.py's records) into a priority.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from .records import Band, Category, Priority, Triage
from .rulebook import (
    NO_HITS,
    ContextRules,
    RuleHits,
    TriageRules,
    match_clean,
    matching,
    normalise,
)


@dataclass(frozen=True)
class Assessment:
    """What the learned model says of one post."""

    score: float                  # probability that someone needs emergency help now
    category: str                 # the most likely category
    category_p: float = 1.0       # its probability
    cues: tuple[str, ...] = ()    # the phrases that pushed the score up most
    probs: Mapping[str, float] = field(default_factory=dict)   # every category's, if known
    near: float | None = None     # cosine of the nearest urgent self-harm post, if looked


@dataclass(frozen=True)
class PostContext:
    """What a connector knows besides the text (all optional)."""

    lang: str | None = None            # ISO 639-1; None: detect it
    repost: bool = False
    quote: bool = False
    reply: bool = False
    news_link: bool = False
    distance_km: float | None = None   # from the nearest neighbourhood, when outside all
    age: timedelta | None = None       # received_at - posted_at
    follows: Category | None = None    # the author's recent concern (domain/follow_up.py)



CONFIDENT_CATEGORY = 0.5   # the category head's probability that names the category


def _category(hits: RuleHits, model: Assessment | None) -> Category:
    """A confident model names the category, unless it says `other` where a rule names
    one; then a rule naming an alerting category (most urgent first), then any rule, then
    the model. (Rules first named 2.3-4.5 points fewer urgent posts' categories right than
    this on the held-out split and each blind set: "gas leak, dad's collapsed" is a hazard
    to the person writing it, and "collapsed" a medical rule. README, Triage.)"""
    if model is not None and model.category_p >= CONFIDENT_CATEGORY and (
            model.category != Category.OTHER.value or not hits.categories):
        return Category(model.category)
    alerting = [r for r in hits.categories if r.priority.rank <= 2]
    if alerting:
        return min(alerting, key=lambda r: r.priority.rank).category
    if hits.categories:
        return hits.categories[0].category
    return Category(model.category) if model is not None else Category.OTHER


def _context_caps(ctx: PostContext, rules: ContextRules) -> list[tuple[Priority, str]]:
    caps = [(rules.repost, ctx.repost, "repost"), (rules.quote, ctx.quote, "quote"),
            (rules.reply, ctx.reply, "reply"), (rules.news_link, ctx.news_link, "news_link"),
            (rules.far, ctx.distance_km is not None and ctx.distance_km >= rules.far_km,
             "far_away"),
            (rules.stale, rules.stale_after is not None and ctx.age is not None
             and ctx.age >= rules.stale_after, "stale")]
    return [(cap, f"context:{name}") for cap, applies, name in caps
            if applies and cap is not None]


def _filed_under(model: Assessment, kind_at: Mapping[Category, float]
                 ) -> tuple[str, float] | None:
    """The first of these categories the model gives at least its probability, and that
    probability (whether or not it is the model's most likely category)."""
    if not kind_at:
        return None
    probs = model.probs or {model.category: model.category_p}
    for category, at in kind_at.items():
        p = probs.get(category.value, 0.0)
        if p >= at:
            return category.value, p
    return None


def _terse(clean: str, model: Assessment | None, rules: TriageRules) -> RuleHits | None:
    """The rule hits of a short post in the review band that a terse-alert category's rule
    names (bands.terse), or None."""
    th = rules.thresholds
    if (model is None or th.terse_words is None or model.score < th.terse_from
            or clean.count(" ") >= th.terse_words):   # words: its spaces plus one
        return None
    hits = match_clean(clean, rules)
    return hits if any(r.category in th.terse_categories for r in hits.categories) else None


def decide(text: str, model: Assessment | None, ctx: PostContext, rules: TriageRules,
           alert_at: float, review_at: float) -> Triage:
    """The priority, category and cues of one post. `model` is None when the post is in a
    language the model does not read: such a post goes to review, never below."""
    clean = normalise(text)
    floors = matching(rules.floors, rules.floor_filter, clean)
    kind_at = rules.thresholds.review_categories
    kind = None if model is None or not kind_at else _filed_under(model, kind_at)
    kind_review = kind is not None
    near_at = rules.thresholds.review_near
    near = (model.near if model is not None and model.near is not None and near_at is not None
            and model.near >= near_at else None)
    if (model is not None and model.score < review_at and not floors and not kind_review
            and near is None and ctx.follows is None):
        # Recorded, not queued: nothing for rules to explain or cap (and most posts end
        # here, so they cost no rule scan).
        return Triage(Category(model.category), Priority.P4,
                      tuple(f"model:{c}" for c in model.cues),
                      score=round(model.score, 4), lang=ctx.lang,
                      concern=round(model.score, 4))
    band = (Band.REVIEW if model is None else Band.ALERT if model.score >= alert_at
            else Band.REVIEW if model.score >= review_at or kind_review or near is not None
            else Band.RECORD)
    alert_kind = None
    if (band is Band.REVIEW and model is not None and model.score >= review_at
            and model.score >= rules.thresholds.alert_categories_from):
        alert_kind = _filed_under(model, rules.thresholds.alert_categories)
        band = Band.REVIEW if alert_kind is None else Band.ALERT
    # The category rules are the slowest step; a post the model queues for review stays P3
    # whatever they say (but for a terse one), so it is described by the model alone (a
    # third of ordinary chatter lands there; skipping them took `make bench` from ~4,000 to
    # ~5,400 posts/s).
    terse = _terse(clean, model, rules) if band is Band.REVIEW and alert_kind is None else None
    if terse is not None:
        band, hits = Band.ALERT, terse
    else:
        hits = match_clean(clean, rules) if band is Band.ALERT or model is None else NO_HITS
    category = _category(hits, model)
    cues = list(hits.cues)
    if model is None:
        cues.append(f"lang:{ctx.lang}")
    else:
        cues.extend(f"model:{c}" for c in model.cues)
        for filed in (kind if model.score < review_at else None, alert_kind):
            if filed is not None:
                cues.append(f"kind:{filed[0]} {filed[1]:.2f}")
        if near is not None:
            cues.append(f"near:self_harm {near:.2f}")
        if terse is not None:
            cues.append("terse")
    priority = band.priority
    if band is Band.ALERT:
        # Someone needs help now: P1, unless the category is one the force ranks P2 (a
        # missing adult, a crash without injury) and nothing says it is worse.
        p1 = (rules.alert_priority.get(category) is not Priority.P2 or hits.urgent
              or (model is not None and model.score >= rules.thresholds.p1))
        priority = Priority.P1 if p1 else Priority.P2
        if category is Category.OTHER and model is not None and model.probs:
            # Officers sent to "other" are told nothing: the alert names the likeliest kind
            # of emergency the model sees ("man in the slurry pit": hazard), after its
            # priority was settled (a guess does not make it a P2 category's alert).
            # Category right on alerting urgent posts rose on every blind set (README).
            category = Category(max((p, c) for c, p in model.probs.items()
                                    if c != Category.OTHER.value)[1])
    for cap, cue in [(o.priority, f"downgrade:{m.group(0)}")
                     for o, m in matching(rules.downgrade, rules.downgrade_filter, clean)]:
        if priority.higher_than(cap):
            priority = cap
            cues.append(cue)
    for floor, found in floors:
        if floor.priority.higher_than(priority):
            priority = floor.priority
            category = floor.category or category
            cues.append(f"raise:{found.group(0)}")
    # Context last: a force's words raise what the text says, but a repost, a news link,
    # a place far away or a post hours old is not someone near needing help now, whatever
    # its words (a reposted rescue request from a flood abroad goes to a person, not to
    # officers).
    for cap, cue in _context_caps(ctx, rules.context):
        if priority.higher_than(cap):
            priority = cap
            cues.append(cue)
    if ctx.follows is not None and Priority.P3.higher_than(priority):
        priority = Priority.P3  # the author's recent post was a concern: a person looks
        cues.append(f"context:follows {ctx.follows.value}")
    if model is None and Priority.P3.higher_than(priority):
        priority = Priority.P3  # a post nobody could read is never left unseen
    concern = None
    if model is not None:
        kinds = [k[1] for k in (kind, alert_kind) if k is not None]
        # A person must see it: an author followed up, or a force's rule (`raise`) matched.
        must = ctx.follows is not None or bool(floors)
        concern = round(max([model.score, *kinds, near or 0.0, 1.0 if must else 0.0]), 4)
    return Triage(category, priority, tuple(dict.fromkeys(cues)),
                  score=None if model is None else round(model.score, 4), lang=ctx.lang,
                  concern=concern)
