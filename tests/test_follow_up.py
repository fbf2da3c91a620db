"""Following an author up: after a post that was a concern (it alerted as self-harm),
the same author's next posts go to a person at least, for a while; pure, with `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.follow_up import FollowUps
from server.domain.records import Category, Priority, Triage
from server.domain.rulebook import RulesError
from server.domain.triage import Assessment, PostContext, decide
from server.domain.triage_rules import compile_rules
from server.rules import load_triage_rules

T0 = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
HARM = frozenset({Category.SELF_HARM})
A = ("bsky", "alex.bsky.social")


def verdict(priority: Priority, category: Category = Category.SELF_HARM,
            cues: tuple[str, ...] = ()) -> Triage:
    return Triage(category, priority, cues)


def test_a_concern_is_followed_for_its_window_and_only_for_that_author() -> None:
    follow = FollowUps()
    assert follow.note(A, verdict(Priority.P1), T0, HARM, DAY)
    assert follow.concern(A, T0 + timedelta(hours=23)) is Category.SELF_HARM
    assert follow.concern(A, T0 + DAY + timedelta(seconds=1)) is None
    assert follow.concern(("mastodon", "alex.bsky.social"), T0) is None   # another network
    assert follow.concern(("bsky", "sam.bsky.social"), T0) is None


def test_only_alerts_are_noted() -> None:
    follow = FollowUps()
    assert not follow.note(A, verdict(Priority.P4), T0, HARM, DAY)           # recorded only
    assert not follow.note(A, verdict(Priority.P1, Category.FIRE), T0, HARM, DAY)
    # At review, even filed as self-harm (awareness campaigns, recovery stories are too).
    assert not follow.note(A, verdict(Priority.P3, Category.OTHER, ("kind:self_harm 0.41",)),
                           T0, HARM, DAY)
    assert not follow.note(A, verdict(Priority.P3), T0, HARM, DAY)
    assert follow.concern(A, T0) is None
    assert follow.note(A, verdict(Priority.P2), T0, HARM, DAY)


def test_a_later_post_never_shortens_a_follow_up() -> None:
    follow = FollowUps()
    follow.note(A, verdict(Priority.P1), T0 + timedelta(hours=10), HARM, DAY)
    follow.note(A, verdict(Priority.P1), T0, HARM, DAY)   # an older post, arriving late
    assert follow.concern(A, T0 + timedelta(hours=33)) is Category.SELF_HARM


def test_room_is_made_from_the_expired_then_the_least_recently_noted() -> None:
    follow = FollowUps(limit=2)
    follow.note(("x", "old"), verdict(Priority.P1), T0 - 2 * DAY, HARM, DAY)   # expired
    follow.note(("x", "a"), verdict(Priority.P1), T0, HARM, DAY)
    follow.note(("x", "b"), verdict(Priority.P1), T0, HARM, DAY)
    assert len(follow) == 2 and follow.concern(("x", "a"), T0) is not None
    follow.note(("x", "a"), verdict(Priority.P1), T0, HARM, DAY)   # noted again: newest
    follow.note(("x", "c"), verdict(Priority.P1), T0, HARM, DAY)
    assert follow.concern(("x", "b"), T0) is None
    assert follow.concern(("x", "a"), T0) is not None and follow.concern(("x", "c"), T0)


def test_a_followed_authors_quiet_post_goes_to_review_never_below() -> None:
    rules = compile_rules({"categories": []})
    quiet = Assessment(score=0.01, category="other", category_p=0.9)
    alone = decide("that's me", quiet, PostContext(lang="en"), rules, 0.5, 0.035)
    assert alone.priority is Priority.P4
    followed = decide("that's me", quiet, PostContext(lang="en", follows=Category.SELF_HARM),
                      rules, 0.5, 0.035)
    assert followed.priority is Priority.P3 and "context:follows self_harm" in followed.cues
    assert followed.concern == 1.0 and alone.concern == 0.01   # top of the review queue
    alert = decide("he's got a knife", Assessment(0.95, "violence"),
                   PostContext(lang="en", follows=Category.SELF_HARM), rules, 0.5, 0.035)
    assert alert.priority is Priority.P1 and "context:follows self_harm" not in alert.cues


def test_the_rules_file_sets_the_window_and_the_categories() -> None:
    shipped = load_triage_rules(None).context
    assert shipped.follow_up == DAY and shipped.follow_up_categories == HARM
    custom = compile_rules({"categories": [], "context": {
        "follow_up_hours": 6, "follow_up_categories": ["self_harm", "missing_person"]}}).context
    assert custom.follow_up == timedelta(hours=6)
    assert custom.follow_up_categories == {Category.SELF_HARM, Category.MISSING_PERSON}
    off = compile_rules({"categories": [], "context": {"follow_up_hours": None}}).context
    assert off.follow_up is None
    with pytest.raises(RulesError, match="follow_up_hours"):
        compile_rules({"categories": [], "context": {"follow_up_hours": 0}})
    with pytest.raises(RulesError, match="follow_up_categories"):
        compile_rules({"categories": [], "context": {"follow_up_categories": ["sadness"]}})
