"""Triage as shipped (the trained model under the default rules): the quiet emergencies people
write, the chatter and hard negatives we ignore, and the rules and context on top."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from server.domain.records import Band, Category, Priority, Triage
from server.domain.rulebook import RulesError, TriageRules, normalise
from server.domain.triage import Assessment, PostContext, decide
from server.domain.triage_rules import compile_rules
from server.rules import load_triage_rules
from server.triage.language import detect
from server.triage.triager import Triager, load_model

RULES = load_triage_rules(None)
TRIAGER = Triager(load_model(), RULES)

# The keyword-era regression cases: every one still holds.
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

# What the keyword rules got wrong (the triage issue's examples): none of these may alert.
HARD_NEGATIVES = [
    "someone blew up my phone 30 times while I was in the shower",
    "having a blast at the beach with the kids",
    "my crush finally texted back",
    "the Calgary Flames got absolutely crushed tonight",
    "domestic terrorism laws are being debated in parliament again",
    "a fitting tribute to the firefighters who died in 2001",
    "that's odd, the shop is shut on a Tuesday",
    "Breaking: explosion at a chemical plant in Texas, several injured, reports say",
    "watching the flood coverage from Pakistan, heartbreaking",
    "that stabbing scene in last night's episode was brutal",
    "MISSING CAT: ginger tom, last seen on Elm Road, please share",
    "what's the non-emergency number for reporting a stolen bike?",
]

# Real-world shapes the rules had no words for.
RESCUES = [
    "still on roof at 14 Mill Lane with my 2 kids, water rising fast, please send a boat",
    "74 yr old mum trapped upstairs, water at the second floor, windows locked, pls help",
    "please help",
]


@pytest.mark.parametrize(("text", "category"), EMERGENCIES)
def test_quiet_emergencies_are_p1(text: str, category: Category) -> None:
    verdict = TRIAGER.triage(text)
    assert (verdict.category, verdict.priority) == (category, Priority.P1), verdict
    assert verdict.cues, "the cues that decided must be kept"
    assert verdict.score is not None and verdict.score >= TRIAGER.alert_at


@pytest.mark.parametrize("text", CHATTER + HARD_NEGATIVES)
def test_chatter_and_hard_negatives_do_not_alert(text: str) -> None:
    verdict = TRIAGER.triage(text)
    assert verdict.band is not Band.ALERT, verdict


@pytest.mark.parametrize("text", RESCUES)
def test_rescue_requests_reach_a_person(text: str) -> None:
    verdict = TRIAGER.triage(text)
    assert verdict.priority in (Priority.P1, Priority.P2, Priority.P3), verdict
    if text != "please help":  # a bare plea reaches review at least; these alert
        assert verdict.band is Band.ALERT, verdict


def test_model_cues_name_the_words_that_decided() -> None:
    verdict = TRIAGER.triage("my husband collapsed and he's not breathing")
    model_cues = [c for c in verdict.cues if c.startswith("model:")]
    assert model_cues and any("breath" in c or "collapsed" in c for c in model_cues), verdict


def test_not_an_emergency_is_capped() -> None:
    verdict = TRIAGER.triage("not an emergency but the streetlight is out on Elm Road")
    assert verdict.priority in (Priority.P3, Priority.P4)
    verdict = TRIAGER.triage("not an emergency but someone has a knife")
    assert verdict.priority is Priority.P3 and any(c.startswith("downgrade") for c in verdict.cues)


def test_urgency_phrase_makes_an_alerting_p2_category_p1() -> None:
    rules = replace(RULES, thresholds=replace(RULES.thresholds, p1=1.0))
    triager = Triager(load_model(), rules)
    # (A young child missing is P1 whatever: test_a_missing_young_child_or_person_...)
    plain = triager.triage("my brother has wandered off at the festival, not answering, "
                           "red coat")
    assert (plain.category, plain.priority) == (Category.MISSING_PERSON, Priority.P2), plain
    urgent = triager.triage("my brother has wandered off at the festival, not answering, "
                            "red coat, please help")
    assert urgent.priority is Priority.P1 and "urgency:please help" in urgent.cues


def test_a_confident_model_names_the_category_else_the_most_urgent_rule() -> None:
    text = "car crash and the driver is not breathing"
    ctx = PostContext(lang="en")

    def category(model: Assessment) -> Category:
        verdict = decide(text, model, ctx, RULES, 0.5, 0.035)
        assert {"traffic:crash", "medical:not breathing"} <= set(verdict.cues)
        return verdict.category

    assert category(Assessment(0.9, "traffic", 0.8)) is Category.TRAFFIC
    assert category(Assessment(0.9, "traffic", 0.4)) is Category.MEDICAL   # unsure: P1 rule
    assert category(Assessment(0.9, "other", 0.9)) is Category.MEDICAL   # "other" says little
    shipped = TRIAGER.triage(text)
    assert (shipped.category, shipped.priority) == (Category.TRAFFIC, Priority.P1), shipped


def test_an_alert_the_model_files_as_other_names_its_likeliest_emergency() -> None:
    """No rule names "van in the canal"; the category head says `other` (0.5) and traffic
    next (0.3). The alert names traffic, but keeps the P1 it had as `other`: traffic is a
    P2 category, and a guessed category must not lower an alert. A review keeps `other`."""
    text = "van in the canal"
    probs = {"other": 0.5, "traffic": 0.3, "hazard": 0.2}
    alert = decide(text, Assessment(0.6, "other", 0.5, probs=probs), PostContext(lang="en"),
                   RULES, 0.5, 0.035)
    assert (alert.category, alert.priority) == (Category.TRAFFIC, Priority.P1), alert
    review = decide(text, Assessment(0.2, "other", 0.5, probs=probs), PostContext(lang="en"),
                    RULES, 0.5, 0.035)
    assert (review.category, review.priority) == (Category.OTHER, Priority.P3), review
    sure = decide("he's not answering", Assessment(0.6, "traffic", 0.9, probs=probs),
                  PostContext(lang="en"), RULES, 0.5, 0.035)
    assert sure.category is Category.TRAFFIC and sure.priority is Priority.P2, sure


def test_a_missing_young_child_or_person_with_dementia_is_p1() -> None:
    """Missing person is a category the shipped rules rank P2; a young child or a person
    with dementia missing is high-risk, and the alert is P1 (an `urgency` phrase)."""
    sure = Assessment(0.6, "missing_person", 0.9)   # below bands.p1

    def priority(text: str) -> Priority:
        return decide(text, sure, PostContext(lang="en"), RULES, 0.5, 0.035).priority

    for text in ["missing 3yo, Tesco Extra", "Boy (6) missing from the Splash Zone",
                 "mom wandered off again. dementia. 80", "one of our U9s didn't get back on "
                 "the coach", "Year 4 pupil unaccounted for on the beach trip"]:
        assert priority(text) is Priority.P1, text
    for text in ["man missing since this morning, Tesco Extra", "my 25 year old brother "
                 "hasn't come home", "won 3-0 in year 9 and lost the ball"]:
        assert priority(text) is Priority.P2, text


def test_a_language_the_model_does_not_read_goes_to_review_never_p4() -> None:
    for text, lang in [("Pomocy! Ktoś włamuje się do mojego mieszkania, jestem sama", "pl"),
                       ("Ayuda, mi padre no respira, estamos en la calle Mayor 12", "es"),
                       ("Hoy hace muy buen tiempo en el parque, qué bonito", "es")]:
        verdict = TRIAGER.triage(text)
        assert verdict.priority is Priority.P3 and f"lang:{lang}" in verdict.cues, verdict
        assert verdict.score is None and verdict.concern is None and verdict.lang == lang
    tagged = TRIAGER.triage("he has a knife", PostContext(lang="en-GB"))
    assert tagged.lang == "en" and tagged.priority is Priority.P1
    # A tag is trusted when it names a language the model does not read ...
    assert TRIAGER.triage("he has a knife", PostContext(lang="pl")).lang == "pl"
    # ... and checked when it says English: a client's setting, not the post's language.
    mistagged = TRIAGER.triage("Pomocy! Ktoś włamuje się do mojego mieszkania, jestem sama",
                               PostContext(lang="en"))
    assert mistagged.lang == "pl" and mistagged.priority is Priority.P3, mistagged


def test_an_identifier_that_says_english_about_another_script_is_overruled() -> None:
    says_english = lambda text: [("en", 0.99)]  # noqa: E731 - an identifier that is wrong
    for text in ["Помогите, сосед не дышит, мы на третьем этаже",
                 "ساعدوني جاري لا يتنفس نحن في الطابق الثالث",
                 "Помогите пожалуйста call 999 сосед не дышит"]:   # mostly Cyrillic
        assert detect(text, known=(), identify=says_english) == "und", text
    for text in ["Kitchen's flooding and the café's downstairs neighbour is out",
                 "help сосед neighbour isn't breathing upstairs flat nine"]:   # mostly Latin
        assert detect(text, known=(), identify=says_english) == "en", text


def test_a_language_the_identifier_cannot_name_surely_is_still_not_english() -> None:
    # py3langid splits Croatian with Bosnian and Serbian, Indonesian with Malay: it is never
    # 90% sure, and these were read as English (and scored by a model that cannot read them).
    for text, lang in [("Pomoć! Netko mi provaljuje u stan, sama sam kod kuće", "hr"),
                       ("Tolong! Ada pencuri di rumah saya, saya sendirian", "id")]:
        verdict = TRIAGER.triage(text)
        assert verdict.priority is Priority.P3 and verdict.lang == lang, verdict
        assert f"lang:{lang}" in verdict.cues and verdict.score is None
    # Too short to guess, with no word the model knows: help!, in Polish and Romanian.
    for text in ["ratunku!", "ajutor!"]:
        verdict = TRIAGER.triage(text)
        assert verdict.priority is Priority.P3 and verdict.lang == "und", verdict
    # English with names, slang and hashtags in it is still English, and scored.
    for text in ["Lakers lost again smh #NBA", "gonna b l8", "sos",
                 "Cooking jollof for Tunde's party"]:
        assert TRIAGER.triage(text).lang == "en", text


def test_an_unsure_identifier_decides_by_whether_english_is_plausible() -> None:
    words = {"the", "kitchen", "is", "flooding", "neighbour", "out", "mi", "casa"}
    unsure = lambda text: [("es", 0.6), ("pt", 0.3), ("en", 0.0001)]  # noqa: E731
    maybe = lambda text: [("es", 0.6), ("en", 0.2)]  # noqa: E731
    spanish = "mi casa se inunda y el vecino no contesta"
    assert detect(spanish, known=(), identify=unsure, vocab=words) == "es"
    assert detect(spanish, known=(), identify=maybe, vocab=words) == "en"
    # English ruled out by the identifier, but the model knows most of the words.
    mostly_known = "the kitchen is flooding neighbour out hmmph"
    assert detect(mostly_known, known=(), identify=unsure, vocab=words) == "en"
    sure = lambda text: [("es", 0.95), ("en", 0.04)]  # noqa: E731
    assert detect(spanish, known=(), identify=sure, vocab=words) == "es"


def test_the_identifier_loaded_without_copies_ranks_as_py3langids_own() -> None:
    """language._identifier loads py3langid's model into memoryviews (68 MB, not 83 MB
    kept and 114 MB at the peak); every ranking must be the stock loader's, to the bit."""
    import json
    from pathlib import Path

    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from server.triage.language import _identifier, _identify

    stock = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ours = _identifier()
    assert isinstance(ours.tk_nextmove, memoryview) and isinstance(ours._rowbase, memoryview)
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    texts = [json.loads(line)["text"] for name in ("written/other_languages.jsonl",
                                                   "blind/c.jsonl")
             for line in (corpus / name).read_text(encoding="utf-8").splitlines()]
    texts += ["", "😀", "東京で地震", "ПОМОГИТЕ", "Pomocy, ktoś włamuje się", "a" * 5000]
    for text in texts:
        ranked = stock.rank(text)
        assert ours.rank(text) == ranked, text
        # What detect asks for: the likeliest language, then English, as rank gives them.
        assert _identify(text) == [ranked[0], ("en", dict(ranked)["en"])], text


@pytest.mark.parametrize(("ctx", "cue"), [
    (PostContext(repost=True), "context:repost"),
    (PostContext(news_link=True), "context:news_link"),
    (PostContext(distance_km=800.0), "context:far_away"),
    (PostContext(age=timedelta(days=2)), "context:stale"),
])
def test_context_caps_an_alert_at_review(ctx: PostContext, cue: str) -> None:
    verdict = TRIAGER.triage("he has a knife and he's coming at me", ctx)
    assert verdict.priority is Priority.P3 and cue in verdict.cues, verdict


def test_context_that_does_not_apply_changes_nothing() -> None:
    near = TRIAGER.triage("he has a knife and he's coming at me",
                          PostContext(distance_km=3.0, age=timedelta(minutes=2), reply=True))
    assert near.priority is Priority.P1


def test_news_domains_match_subdomains_only() -> None:
    assert TRIAGER.is_news_link(["https://www.bbc.co.uk/news/uk-123"])
    assert TRIAGER.is_news_link(["https://news.sky.com/story/x"])
    assert not TRIAGER.is_news_link(["https://notbbc.co.uk/x", "https://example.org/bbc.co.uk"])


def test_force_thresholds_and_floors_override_the_model() -> None:
    strict = compile_rules({"bands": {"alert": 0.999, "review": 0.99}, "categories": [],
                            "raise": [{"pattern": r"#code ?red\b", "floor": "P1",
                                       "category": "violence"}]})
    triager = Triager(load_model(), strict)
    assert triager.triage("he has a knife").band is not Band.ALERT
    raised = triager.triage("#codered at the depot")
    assert (raised.priority, raised.category) == (Priority.P1, Category.VIOLENCE)
    assert "raise:#codered" in raised.cues


def test_bad_rules_are_named() -> None:
    with pytest.raises(RulesError, match=r"categories\[0\].patterns\[0\]"):
        compile_rules({"categories": [{"category": "fire", "priority": "P1",
                                       "patterns": ["(unclosed"]}]})
    with pytest.raises(RulesError):
        compile_rules({"categories": [{"category": "aliens", "priority": "P1", "patterns": []}]})
    with pytest.raises(RulesError, match=r"bands\.alert"):
        compile_rules({"categories": [], "bands": {"alert": 7}})
    with pytest.raises(RulesError, match="raise"):
        compile_rules({"categories": [], "raise": [{"pattern": "(", "floor": "P1"}]})
    for words in (0, "seven", 2.5, True):
        with pytest.raises(RulesError, match=r"raise\[0\]\.max_words"):
            compile_rules({"categories": [],
                           "raise": [{"pattern": "x", "floor": "P1", "max_words": words}]})


def test_a_floor_with_max_words_applies_only_to_posts_that_short() -> None:
    """`max_words: N`: the entry reads a post of at most N words (a terse report), and a
    longer post with the same words is left to the model."""
    rules = compile_rules({"categories": [], "bands": {"alert": 0.999, "review": 0.99},
                           "raise": [{"pattern": r"\bcode red\b", "floor": "P1",
                                      "max_words": 4}]})
    triager = Triager(load_model(), rules)
    assert triager.triage("code red  at   depot").priority is Priority.P1   # 4 words
    assert "raise:code red" in triager.triage("code red at depot").cues
    longer = triager.triage("code red at the depot")                     # 5 words
    assert not any(c.startswith("raise:") for c in longer.cues), longer


def test_a_post_filed_under_a_review_category_goes_to_review_however_low_its_score() -> None:
    """`bands.review_categories`: quiet goodbyes read as self-harm to the category head more
    surely than they read as urgent; such a post is queued for a person, never left at P4."""
    rules = compile_rules({"categories": [], "bands": {"review_categories": {"self_harm": 0.4}}})
    ctx = PostContext(lang="en")

    def priority(assessment: Assessment, with_rules: TriageRules = rules) -> Triage:
        return decide("so this is how it ends", assessment, ctx, with_rules, 0.5, 0.035)

    queued = priority(Assessment(score=0.01, category="self_harm", category_p=0.6))
    assert queued.priority is Priority.P3 and "kind:self_harm 0.60" in queued.cues
    assert queued.concern == 0.6   # the review queue orders by it, not by the low score
    assert priority(Assessment(0.01, "self_harm", 0.39)).priority is Priority.P4
    assert priority(Assessment(0.01, "other", 0.99)).priority is Priority.P4
    plain = compile_rules({"categories": []})
    assert priority(Assessment(0.01, "self_harm", 0.99), plain).priority is Priority.P4
    alerting = priority(Assessment(0.9, "self_harm", 0.9))
    assert alerting.priority is Priority.P1 and not any(c.startswith("kind:")
                                                        for c in alerting.cues)
    with pytest.raises(RulesError, match="unknown category 'sadness'"):
        compile_rules({"categories": [], "bands": {"review_categories": {"sadness": 0.5}}})
    with pytest.raises(RulesError, match=r"review_categories\.self_harm"):
        compile_rules({"categories": [], "bands": {"review_categories": {"self_harm": 0}}})


def test_a_post_in_the_review_band_filed_under_an_alert_category_alerts() -> None:
    """`bands.alert_categories`: a quiet goodbye the category head is sure of needs officers
    now, once its score reaches the review band; below that band it is only queued."""
    rules = compile_rules({"categories": [], "bands": {
        "review_categories": {"self_harm": 0.3}, "alert_categories": {"self_harm": 0.9}}})
    ctx = PostContext(lang="en")

    def verdict(assessment: Assessment, with_rules: TriageRules = rules) -> Triage:
        return decide("took everything i could find. it's fine", assessment, ctx,
                      with_rules, 0.5, 0.035)

    alerted = verdict(Assessment(score=0.2, category="self_harm", category_p=0.95))
    assert alerted.priority is Priority.P1 and "kind:self_harm 0.95" in alerted.cues
    assert (alerted.score, alerted.concern) == (0.2, 0.95)
    assert alerted.category is Category.SELF_HARM
    unsure = verdict(Assessment(0.2, "self_harm", 0.89))
    assert unsure.priority is Priority.P3 and not any(c.startswith("kind:") for c in unsure.cues)
    low = verdict(Assessment(0.1, "self_harm", 0.95))   # in the review band, below 0.15
    assert low.priority is Priority.P3 and not any(c.startswith("kind:") for c in low.cues)
    below_band = verdict(Assessment(0.01, "self_harm", 0.95))
    assert below_band.priority is Priority.P3 and "kind:self_harm 0.95" in below_band.cues
    plain = compile_rules({"categories": []})
    assert verdict(Assessment(0.2, "self_harm", 0.99), plain).priority is Priority.P3
    assert verdict(Assessment(0.2, "other", 0.99)).priority is Priority.P3
    with pytest.raises(RulesError, match=r"alert_categories\.self_harm"):
        compile_rules({"categories": [], "bands": {"alert_categories": {"self_harm": 1.5}}})


def test_a_terse_post_a_category_rule_names_alerts_from_under_the_alert_threshold() -> None:
    """`bands.terse`: "i been shot" has too few words for the model to be sure of; a short
    post in the review band from `from` alerts when a rule of a listed category names what
    happened, and not when the rule's category is left out, the post is longer or the score
    lower."""
    rules = compile_rules({
        "categories": [{"category": "violence", "priority": "P1", "patterns": [r"\bshot\b"]},
                       {"category": "fire", "priority": "P1", "patterns": [r"\bon fire\b"]}],
        "bands": {"terse": {"max_words": 4, "from": 0.4, "categories": ["violence"]}}})
    ctx = PostContext(lang="en")

    def verdict(text: str, score: float, with_rules: TriageRules = rules) -> Triage:
        return decide(text, Assessment(score, "other", 0.5), ctx, with_rules, 0.57, 0.04)

    shot = verdict("i been  shot", 0.44)
    assert (shot.priority, shot.category) == (Priority.P1, Category.VIOLENCE)
    assert "terse" in shot.cues and "violence:shot" in shot.cues
    assert verdict("i been shot. help", 0.44).priority is Priority.P1    # 4 words
    assert verdict("i think i been shot", 0.44).priority is Priority.P3  # 5
    assert verdict("i been shot", 0.39).priority is Priority.P3
    assert verdict("inbox is on fire", 0.5).priority is Priority.P3   # fire is not listed
    plain = compile_rules({"categories": [{"category": "violence", "priority": "P1",
                                           "patterns": [r"\bshot\b"]}]})
    assert verdict("i been shot", 0.44, plain).priority is Priority.P3
    # The shipped rules list violence too.
    assert decide("i been shot", Assessment(0.44, "other", 0.5), ctx, RULES, 0.57,
                  0.04).priority is Priority.P1
    # The shipped category rules name terse reports the model leaves just under the bar.
    for text, category in [("kid drowning at the pool", Category.MEDICAL),
                           ("biker down on Pinal Pkwy", Category.MEDICAL),
                           ("Baby in hot car, Publix", Category.MEDICAL),
                           ("man on pollard lock railing", Category.SELF_HARM),
                           ("carjacked at lights, Sowden Rd", Category.CRIME_IN_PROGRESS)]:
        terse = decide(text, Assessment(0.5, "other", 0.4), ctx, RULES, 0.57, 0.04)
        assert (terse.priority, terse.category) == (Priority.P1, category), terse
    for text in ["drowning in emails rn", "rider down the slope, all fine"]:
        assert decide(text, Assessment(0.5, "other", 0.4), ctx, RULES, 0.57,
                      0.04).priority is Priority.P3, text
    for bad in ({"max_words": 0, "from": 0.4, "categories": ["violence"]},
                {"max_words": 5, "from": 1.5, "categories": ["violence"]},
                {"max_words": 5, "from": 0.4, "categories": []},
                {"max_words": 5, "from": 0.4, "categories": ["aliens"]}, "seven"):
        with pytest.raises(RulesError, match=r"bands\.terse"):
            compile_rules({"categories": [], "bands": {"terse": bad}})


def test_a_pet_handed_over_or_provided_for_reaches_a_person() -> None:
    """The shipped pet entry: putting a pet's care in order is a warning sign of suicide
    (blind set x's one post at P4); a pet minded over a holiday or a weekend is not."""
    for text in ["made sure the dog has food for a week. it's fine. everything's fine.",
                 "left the cat with jess. thanks for everything"]:
        verdict = TRIAGER.triage(text)
        assert verdict.priority in (Priority.P1, Priority.P2, Priority.P3), verdict
    quiet = decide("made sure the dog has food for a week. it's fine.",
                   Assessment(0.002, "other", 0.9), PostContext(lang="en"), RULES, 0.57, 0.04)
    assert (quiet.priority, quiet.category) == (Priority.P3, Category.SELF_HARM)
    assert "raise:made sure the dog has" in quiet.cues
    for text in ["left the dogs with my sister for the weekend, off to Liverpool for the gig!!",
                 "gave the dog to my mum while we're away in Spain"]:
        away = decide(text, Assessment(0.002, "other", 0.9), PostContext(lang="en"), RULES,
                      0.57, 0.04)
        assert away.priority is Priority.P4, away


def test_a_partners_threat_beside_a_past_injury_reaches_a_person() -> None:
    """The shipped entry for a threat with an injury behind it, however it is laughed off
    (blind set aa's post at P4); the idiom alone stays where the model puts it."""
    text = ("haha boyfriend's gonna kill me when he gets back, said if his tea was cold "
            "again i'd regret it. last time i couldn't walk for a week lol")
    threat = decide(text, Assessment(0.01, "other", 0.9), PostContext(lang="en"), RULES,
                    0.57, 0.04)
    assert (threat.priority, threat.category) == (Priority.P3, Category.VIOLENCE), threat
    idiom = decide("my boyfriend's gonna kill me, i forgot his birthday again lol",
                   Assessment(0.01, "other", 0.9), PostContext(lang="en"), RULES, 0.57, 0.04)
    assert idiom.priority is Priority.P4, idiom


def test_a_post_near_an_urgent_self_harm_post_goes_to_review() -> None:
    """`bands.review_near`: below the review band, a post whose embedding comes this close to
    one of the corpus's urgent self-harm posts is queued, with its cosine as the concern."""
    rules = compile_rules({"categories": [], "bands": {"review_near": 0.6}})
    ctx = PostContext(lang="en")

    def verdict(assessment: Assessment, with_rules: TriageRules = rules) -> Triage:
        return decide("how many would it take", assessment, ctx, with_rules, 0.5, 0.035)

    near = verdict(Assessment(score=0.02, category="other", category_p=0.9, near=0.65))
    assert near.priority is Priority.P3 and "near:self_harm 0.65" in near.cues
    assert near.concern == 0.65
    assert verdict(Assessment(0.02, "other", 0.9, near=0.55)).priority is Priority.P4
    assert verdict(Assessment(0.02, "other", 0.9)).priority is Priority.P4   # not looked
    plain = compile_rules({"categories": []})
    assert verdict(Assessment(0.02, "other", 0.9, near=0.9), plain).priority is Priority.P4
    assert compile_rules({"categories": [], "bands": {"review_near": "none"}}
                         ).thresholds.review_near is None
    with pytest.raises(RulesError, match="review_near"):
        compile_rules({"categories": [], "bands": {"review_near": 2}})
    shipped = TRIAGER.triage("that's me checked out. don't wait up")   # a quiet goodbye
    assert shipped.priority is Priority.P3 and any(c.startswith("near:self_harm")
                                                  for c in shipped.cues), shipped
    assert TRIAGER.triage("so tired i could sleep for a week").priority is Priority.P4


def test_a_song_lyric_goes_to_review_not_to_officers() -> None:
    for text in ["I'm on fire 🎶", "Smoke on the water 🎸"]:
        verdict = TRIAGER.triage(text)
        assert verdict.priority is Priority.P3, verdict
        assert any(c.startswith("downgrade:") for c in verdict.cues), verdict
    assert TRIAGER.triage("I'm on fire").priority is Priority.P1   # the words alone alert


def test_a_story_that_opens_in_the_past_goes_to_review_not_to_officers() -> None:
    """The shipped `downgrade` for a post that opens years or months ago: a recovery story
    the category head files as self-harm is read by a person, not sent to officers."""
    low = Assessment(0.9, "self_harm", 0.95)
    for text in ["a year ago tonight i had the pills lined up. today i got a new job",
                 "this time last year i was stood on a bridge. today i ran my first 10k",
                 "sat on the pier with my goodbye written. 5 years ago. still here",
                 "ten years since i tried to end it. still here. please reach out"]:
        verdict = decide(text, low, PostContext(lang="en"), RULES, 0.5, 0.035)
        assert verdict.priority is Priority.P3, (text, verdict)
        assert any(c.startswith("downgrade:") for c in verdict.cues), verdict
    # A past event inside a present emergency is not the story's opening.
    now = decide('my mum with dementia went out to "find dad" who died 10 years ago, gone '
                 "2 hours", Assessment(0.9, "missing_person", 0.9), PostContext(lang="en"),
                 RULES, 0.5, 0.035)
    assert now.priority is Priority.P1, now


def test_the_shipped_safety_net_queues_phrases_of_a_person_at_risk() -> None:
    """The shipped `raise` rule: a goodbye with a time, a final post, a method-seeking
    question reaches a person whatever its score, first in the review queue; the same
    words in everyday use do not."""
    for text in ["cleared my desk, paid everyone back. tonight i end it",
                 "wont be around for the barbecue sunday. look after mum",
                 "whats the least painless way. need it before morning",
                 "here's my last post. thanks for the laughs"]:
        verdict = TRIAGER.triage(text)
        assert verdict.priority.higher_than(Priority.P4), (text, verdict)
    quiet = decide("wont be around for the match saturday", Assessment(0.01, "other", 0.9),
                   PostContext(lang="en"), RULES, 0.5, 0.035)
    assert quiet.priority is Priority.P3 and quiet.category is Category.SELF_HARM
    assert any(c.startswith("raise:") for c in quiet.cues) and quiet.concern == 1.0
    for text in ["my last tweet was about cats lol",
                 "most painless way to take a plaster off a hairy arm",
                 "how many would it take to fill the albert hall with jelly"]:
        assert not RULES.floors[0].pattern.search(normalise(text)), text


def test_the_shipped_rescue_rule_alerts_on_a_request_that_says_where() -> None:
    """The shipped `raise` entries with `also` and `unless`: a request for rescue (a boat,
    rescuers, evacuation, rising water) with an address, a junction, a highway, coordinates
    or a phone number; any request for help with a place in a flood, storm or quake; or a
    relative trapped in one, is P1 whatever the model's score. Not an animal, a traffic jam,
    a hotline list, an advert, a story that is over, people who are fine, or the words of a
    request with a place but no disaster; and context still caps it (applied last)."""
    for text in ["3 ppl stranded on roof 1412 Mulberry Lane water still rising #flood",
                 "need a boat at the corner of Mill Rd & Station Rd, grandad cant walk",
                 "Family trapped upstairs. Location: 9°20'45N 76°34'10E #KeralaSOS",
                 "my aunt is stuck in her attic at 22 Riverside Drive, flood up to the first floor",
                 # session 13: a phone number, a zip after a street, a highway
                 "Rosa Delgado - needs rescue 0917 555 0188 #RescuePH",
                 "pls help, water chest deep, 2 kids + grandma. call 0917 555 0134",
                 "anyone with a boat?? my family needs to be rescued from 2210 Briarwood, 77555!",
                 "my brother is stuck in his van on I-10, water up to the doors",
                 # session 13: text-speak, an international number, a quake hashtag
                 "plz hlp old man namd Hari needs 2 b rescued +9779800555123 RT",
                 "#HillQuake my family is stucked in the village, mobi no +9779800555321",
                 # a relative trapped by the disaster, no place named
                 "My family has been stranded for hours in the flood, help!",
                 "our neighbours are still trapped under the rubble, nobody has come"]:
        low = decide(text, Assessment(0.1, "hazard", 0.6), PostContext(lang="en"), RULES,
                     0.5, 0.035)
        assert low.priority is Priority.P1, (text, low)
        assert any(c.startswith("raise:") for c in low.cues) and low.concern == 1.0, low
        assert TRIAGER.triage(text).priority is Priority.P1, text
    for text in ["cat stranded up a tree outside 14 Oak Road, any tips?",
                 "stuck in traffic at Mill Rd & Station Rd again, 40 mins",
                 "no more rescue needed at 1412 Mulberry Lane, they're all safe",
                 "trapped in a meeting at 10 Downing Street lol",
                 "3 ppl stranded on roof, water still rising",      # no place: the model's
                 "HOTLINES: Marikina Rescue 161 / 0917 555 0101, Coast Guard 0917 555 0124",
                 "locked out? stuck in your flat? 24/7 locksmith, call 0800 555 0101",
                 "relief drive for flood victims at 12 Church Street, donate tins pls",
                 "20 years since the blackout, my mum was stuck on the subway for hours",
                 "water rising at our end of Bayou Black, we're staying put on the 2nd floor",
                 "2 dogs trapped in the flood at 55 Canal Street, pls share",
                 "PET RESCUE NEEDED: 12 animals at 88 Mill Lane, pls RT",
                 "people needing help may text the rescue desk on 0905 555 0142 #floods",
                 "if u r in need of rescue help please contact Arun 0904 855 5012",
                 # the words of a request with a place, but no disaster (session 13)
                 "need help moving a sofa on saturday, 45 Queen Street, will pay in pizza",
                 "stuck at work till 9, 10 Market Street is dead tonight",
                 "SOS! need a plus one for a wedding at 40 Castle Street on saturday",
                 "we're stranded at the airport, flight cancelled, call 0161 555 0100",
                 "trapped at home with the kids all half term, 12 Oak Road, send wine"]:
        low = decide(text, Assessment(0.1, "hazard", 0.6), PostContext(lang="en"), RULES,
                     0.5, 0.035)
        assert low.priority is not Priority.P1, (text, low)
    reposted = decide("3 ppl stranded on roof 1412 Mulberry Lane water still rising",
                      Assessment(0.1, "hazard", 0.6), PostContext(lang="en", repost=True),
                      RULES, 0.5, 0.035)
    assert reposted.priority is Priority.P3 and "context:repost" in reposted.cues, reposted


def _queued_and_recorded(queued: list[str], recorded: list[str],
                         category: str) -> list[Triage]:
    """The verdicts of posts the model scores far below review (0.01): those in `queued`
    must reach review (a shipped `raise` floor), those in `recorded` stay at P4."""
    quiet = Assessment(0.01, category, 0.6)
    verdicts = []
    for text, want in [*((t, Priority.P3) for t in queued),
                       *((t, Priority.P4) for t in recorded)]:
        verdict = decide(text, quiet, PostContext(lang="en"), RULES, 0.5, 0.035)
        assert verdict.priority is want, (text, verdict)
        verdicts.append(verdict)
    return verdicts


def _quiet_verdict(text: str) -> Triage:
    """The verdict on a post the model scores far below review (0.01): what the shipped
    `raise` entries alone make of it."""
    return decide(text, Assessment(0.01, "other", 0.6), PostContext(lang="en"), RULES, 0.5,
                  0.035)


def _priorities(texts: list[str]) -> dict[str, Priority]:
    """Each post's priority under _quiet_verdict."""
    return {t: _quiet_verdict(t).priority for t in texts}


def test_a_missing_person_sought_in_a_disaster_alerts_and_news_of_the_missing_is_queued(
        ) -> None:
    """An appeal for a missing person after a disaster alerts (P2, a missing person) however
    low the model scores it; news of the missing, a traced person or an appeal with no
    disaster reaches review, never P4; a pet, an item or "missing you" stays where the model
    put it."""
    verdict = _quiet_verdict
    for appeal in ["Missing: Claire, French, 44 #valleyearthquake",
                   "Tom missing since #CoastQuake please RT",
                   "last seen at the bus station before the flood, any info on my uncle Ravi?",
                   "please help us find my sister Amy, she was at the campsite when the "
                   "flood came #DaleFloods"]:
        v = verdict(appeal)
        assert (v.priority, v.category) == (Priority.P2, Category.MISSING_PERSON), (appeal, v)
    for news in ["Valley floods: 12 dead, 3 still missing, says the council",
                 "avalanche above the village, three skiers missing, rescue teams searching",
                 "Gran (81) who was missing after the quake has been found safe, thank you all",
                 "to report missing persons after the #CoastQuake call the desk on 0300 555 0199"]:
        v = verdict(news)
        assert (v.priority, v.category) == (Priority.P3, Category.MISSING_PERSON), (news, v)
    for appeal in ["Sue and Glen still missing. Does anybody have information about them?",
                   "Dan (34) last seen Friday on the ring road, please share"]:
        v = verdict(appeal)   # no disaster named: not an alert, but never P4
        assert (v.priority, v.category) == (Priority.P3, Category.MISSING_PERSON), (appeal, v)
    for joke in ["Missing: one sense of humour, last seen before the storm clean-up. please RT",
                 "looking for my old school friend Sarah, last seen at the flood reunion lol"]:
        assert verdict(joke).priority is Priority.P3, joke   # a person looks; no alert
    for calm in ["missing our cat Tiger since the flood, orange tabby, pls msg if seen",
                 "please share! our spaniel bolted at the floodwater, missing since Tuesday",
                 "has anyone seen my keys? last seen on the 42 bus, please share",
                 "missing the old days when we all lived on the same street",
                 "my keys went missing after the storm lol"]:
        assert verdict(calm).priority is Priority.P4, calm


def test_the_poster_trapped_in_a_disaster_alerts_without_an_address() -> None:
    """Someone trapped, stranded or cut off themselves in a flood, fire or quake alerts
    with no address; a delayed flight, a joke, a hypothetical or a past story does not."""
    alerts = _priorities([
        "trapped north of Ridgeton with nowhere to go. is anyone coming?? #ridgefire",
        "we're stranded on the first floor, flood water still rising",
        "we can't get out, smoke all up the stairs"])
    assert set(alerts.values()) == {Priority.P1}, alerts
    calm = _priorities([
        "stranded at the airport, every flight cancelled because of the storm",
        "stranded on the sofa with no netflix, someone rescue me #floodrelief",
        "if i ever got trapped under rubble i'd probably take a selfie",
        "we were trapped for two days in the 2019 flood, never again",
        "cut off by the flood but we're fine, plenty of tea",
        "I'm trapped in a fire drill that has lasted 45 minutes",
        "what's the plan if the river floods again and we're cut off for a week?"])
    # (A plain "stranded at ..." still reaches review through the entry under it.)
    assert set(calm.values()) <= {Priority.P3, Priority.P4}, calm


def test_a_request_under_a_rescue_tag_alerts() -> None:
    """A request for help under a rescue tag alerts; a pet, a relief drive, a rescue that is
    over, or a plain #sos or #rescue with no disaster does not."""
    alerts = _priorities([
        "#RescuePH staff and patients at the clinic in need of immediate help",
        "anyone near San Jose who can rescue this family? #rescueph"])
    assert set(alerts.values()) == {Priority.P1}, alerts
    calm = _priorities([
        "#rescuedog Biscuit needs a home, please help",
        "#rescueph all 9 rescued from the roof, thank you coastguard, no more help needed",
        "#rescueph relief drive at the parish hall, need volunteers to pack goods",
        "#sos need help with my maths homework due tomorrow",
        "#rescue please help, foster needed for 3 puppies this weekend"])
    assert Priority.P1 not in calm.values(), calm
    # A plain #sos or #rescue in a flood is a request.
    assert _priorities(["#sos we need help, the flood is in the house and rising"]) == {
        "#sos we need help, the flood is in the house and rising": Priority.P1}


def test_a_missing_person_with_dementia_alerts_wherever_and_whatever_the_score() -> None:
    """A missing person with dementia is high-risk: officers now, no disaster needed; not
    advice, awareness or a person found."""
    alerts = _priorities([
        "dad has dementia, wandered off an hour ago, last seen by the co-op in a blue coat",
        "my nan (alzheimer's) is missing from her care home on Mill Lane, please share",
        "dad has dementia, missing since 2pm, if you see him please call 999"])
    assert set(alerts.values()) == {Priority.P1}, alerts
    calm = _priorities([
        "the herbert protocol: fill in the form in case a loved one with dementia goes missing",
        "dementia awareness walk on sunday, sponsored, we'll be missing you if you can't come",
        "found safe: the man with dementia missing since last night is back home",
        "police are appealing for help to find a man, 81, with dementia, missing from Hull",
        "if my mum (dementia) wandered off in a power cut, how would anyone find her?"])
    assert set(calm.values()) == {Priority.P4}, calm


def _sure_priority(text: str, category: str) -> Priority:
    """A post's priority when the model alerts on it surely (0.9): what the shipped
    `downgrade` caps make of it."""
    return decide(text, Assessment(0.9, category, 0.9), PostContext(lang="en"), RULES, 0.5,
                  0.035).priority


def test_a_lost_pet_goes_to_review_not_to_officers_unless_a_person_or_danger_is_in_it(
        ) -> None:
    """However surely the model alerts on it, a lost or found pet is capped at review; a
    child gone after the dog, or an owner through the ice, still alerts."""
    def priority(text: str) -> Priority:
        return _sure_priority(text, "missing_person")

    for pet in ["Missing dog: Bruno, black lab, last seen near the park, please share",
                "PLS HELP our cat Mochi escaped from the garden at 12 Elm Close, microchipped",
                "found a shivering chihuahua outside the co-op, she's wrapped in my coat now"]:
        assert priority(pet) is Priority.P3, pet
    for danger in ["our dog ran off into the woods and my son (7) went after him, can't find him",
                   "dog went through the ice on the pond and the owner went in after him",
                   "im lost on the moor with my dog, its dark and freezing, phone at 5%"]:
        assert priority(danger) is Priority.P1, danger


def test_an_emergency_that_is_over_goes_to_review_unless_anything_is_still_happening(
        ) -> None:
    """However surely the model alerts on it, "it's over and everyone is fine" is capped at
    review; "she says she's fine" with stroke signs, someone still inside, or "ok for now"
    still alerts."""
    def priority(text: str) -> Priority:
        return _sure_priority(text, "fire")

    for over in ["fire's out, everyone's safe, thank you to the crews",
                 "attempted robbery at the jewellers, police caught them, no one hurt",
                 "UPDATE my son is home, he'd gone to his mates and his phone died. thank you",
                 "the lady who fainted in the queue is awake and talking, paramedics with her",
                 "fight's over, police gone",
                 "the guy who collapsed outside the shop is sitting up and talking now"]:
        assert priority(over) is Priority.P3, over
    for ongoing in ["they got the kids out but grandad is still inside, everyone else is safe",
                    "mum's face is droopy on one side and she's slurring. she says she's fine",
                    "water at the top step, we're ok for now but it's rising",
                    "nobody else is home and someone is coming up the stairs",
                    "mum's home alone and the smoke is coming under her door",
                    "fell in the slurry tank up to my chest, nobody's home, getting dizzy",
                    "no one is home, smoke coming from the upstairs window next door",
                    "the fight's over but one lad is still on the floor not moving",
                    "police have gone and he's back again kicking the door in",
                    # asked, not told (blind set y, session 21)
                    "my uncle's been in the sun since 10am, now he's just sitting against the "
                    "wall not talking, he's fine right"]:
        assert priority(ongoing) is Priority.P1, ongoing


def test_a_film_a_programme_or_a_game_goes_to_review_unless_it_says_it_is_real() -> None:
    """However surely the model alerts on it, a scene from a film, a programme, a book or a
    game is capped at review; a real emergency that names one (a psychotic episode, a
    child in a Minecraft jumper, "thought it was a film but it's not") still alerts."""
    def priority(text: str) -> Priority:
        return _sure_priority(text, "fire")

    for scene in ["the episode where the flat catches fire and they're stuck upstairs, sobbing",
                  "my minecraft farm is on fire and the villagers are trapped HELP",
                  "D&D tonight: the bard got stabbed and is bleeding out, someone heal him",
                  "watching a film where a burglar hides in the loft. never sleeping again"]:
        assert priority(scene) is Priority.P3, scene
    for real in ["thought it was a film but it's not, man with a knife in the cinema lobby",
                 "my brother ran off mid psychotic episode, no shoes, heading for the bridge",
                 "lost boy, 5, Minecraft hoodie, by the food court, crying for his mum",
                 "in the middle of the film the man next to me collapsed and isn't breathing"]:
        assert priority(real) is Priority.P1, real


def test_a_minor_street_problem_goes_to_review_unless_someone_is_at_it_or_hurt() -> None:
    """However surely the model alerts on it, a streetlight out, a pothole or a car alarm
    with nobody near is capped at review; a thief in the car, a fall on the broken slab or
    a live cable still alerts."""
    def priority(text: str) -> Priority:
        return _sure_priority(text, "hazard")

    for minor in ["streetlight out on Mill Lane again, pitch black walking home",
                  "massive pothole on Station Rd outside the Spar, someone will burst a tyre",
                  "car alarm going off outside 14 Oak Close for an hour, nobody near it",
                  "someone keyed my car overnight, whole side scratched"]:
        assert priority(minor) is Priority.P3, minor
    for danger in ["car alarm going and two lads are inside it pulling the dash out",
                   "old man tripped on the loose paving slab, he's fallen and is bleeding",
                   "streetlight knocked over on Mill Lane and the cable is sparking"]:
        assert priority(danger) is Priority.P1, danger


def test_advice_goes_to_review_unless_it_says_something_is_happening_now() -> None:
    """However surely the model alerts on it, advice for some day ("if you're ever trapped
    ...") is capped at review; a warning about what is happening now still alerts."""
    def priority(text: str) -> Priority:
        return _sure_priority(text, "hazard")

    for advice in ["If you're ever caught in a house fire, stay low and shut the doors",
                   "PSA: never drive through flood water, it only takes a foot to float a car",
                   "test your smoke alarms this weekend, it takes 10 seconds"]:
        assert priority(advice) is Priority.P3, advice
    for now in ["PSA there's a man with a knife on the high street right now, stay away",
                "if you ever needed to see this: my son is on the bridge and won't come down"]:
        assert priority(now) is Priority.P1, now


def test_a_call_for_help_disguised_as_an_order_reaches_a_person() -> None:
    """An order with an address or an urgency ("pizza to 14 Tern Close", "same address as
    last time, please hurry") reaches review however low the model scores it, filed as
    violence; an advert or an order with neither stays where the model put it."""
    verdicts = _queued_and_recorded(
        ["pizza to 14 Tern Close",
         "can someone order me a large pepperoni to 22 Gull Lane, can't really talk",
         "just checking on that order, same address as last time, please hurry",
         "pizza to Larch Heights 4B", "large pepperoni to flat 9"],
        ["2 large pizzas for £20 tonight, free delivery to 12 Elm Road",
         "tryna decide between chinese or pizza for tea",
         "ordered a kebab and it came cold", "ordered a pizza to my flat lol"], "other")
    assert all(v.category is Category.VIOLENCE for v in verdicts[:5])


def test_an_emergency_laughed_off_reaches_a_person() -> None:
    """Words of danger beside a laugh ("smoke alarm again lol ignoring") reach review
    however low the model scores them, and never alert on that alone; a laugh without
    danger, or danger words without a laugh, stay where the model put them."""
    verdicts = _queued_and_recorded(
        ["smoke alarm again lol ignoring",
         "mate still out past the point on his board and can't paddle back in 😂",
         "nan's gone a funny colour and can't breathe properly haha she's fine"],
        ["lol my sister ate all the biscuits", "😂😂 this is me every monday",
         "the smoke alarm needs a new battery", "walked the dog along the cliff path"],
        "other")
    assert all(any(c.startswith("raise:") for c in v.cues) for v in verdicts[:3])
    # On the shipped model too: the first two were blind set l's posts left at P4.
    for text in ["smoke alarm again lol ignoring",
                 "how long can u stay in the sea in april? asking for my mate who's still "
                 "out past the point on his board and can't paddle back in 😂",
                 # blind set t's one post at P4 (session 20): violence against the poster
                 "lol bf threw the kettle at me again 😂 anyway does a burn go white like that"]:
        verdict = TRIAGER.triage(text)
        assert verdict.priority is Priority.P3, verdict
        if (verdict.score or 0) < TRIAGER.review_at:   # the model alone: P4
            assert any(c.startswith("raise:") for c in verdict.cues), verdict
    assert (TRIAGER.triage("smoke alarm again lol ignoring").score or 0) < TRIAGER.review_at
    assert not any(c.startswith("raise:")
                   for c in TRIAGER.triage("Lmao the beginning just threw me off").cues)


def test_a_request_that_officers_come_alerts_whatever_its_score() -> None:
    """Short requests that officers come score under the alert threshold ("send police
    quietly. number 9" 0.18): the request itself alerts (cue `raise:`); a joke with the same
    words does not."""
    for text in ["send police. no sirens.", "send police quietly. number 9",
                 "cant talk send police Whinfield"]:
        verdict = TRIAGER.triage(text)
        assert (verdict.score or 0) < TRIAGER.alert_at, verdict   # the model alone: review
        assert verdict.priority is Priority.P1, verdict
        assert any(c.startswith("raise:send") for c in verdict.cues), verdict
    for text in ["my gran beat me at mario kart, someone send the police lol",
                 "send the police, this playlist is criminal"]:
        assert TRIAGER.triage(text).priority not in (Priority.P1, Priority.P2), text


def test_a_terse_report_of_a_shooting_or_an_overdose_alerts_whatever_its_score() -> None:
    """Seven words or fewer naming a serious thing with "now", "go" or a number ("shots
    fired Shady Rest #22") score under the alert threshold, their other words being places
    the model never saw: the report itself alerts (cue `raise:`). The same words in a
    longer post, a joke, a question, a story that is over or a sale do not."""
    # bands.terse off: it alerts on some of these too (the rule names a shooting).
    no_terse = replace(RULES, thresholds=replace(RULES.thresholds, terse_words=None))
    triager = Triager(TRIAGER.model, no_terse)
    for text in ["shots fired Shady Rest #22", "OD in walmart bathroom NOW",
                 "mamaw fell, 2781 Copperas Branch", "Not safe. Maesderwen 44. Knife.",
                 "hiding. shots fired. Sunburn Saloon."]:
        verdict = triager.triage(text)
        assert (verdict.score or 0) < TRIAGER.alert_at, verdict   # the model alone: review
        assert verdict.priority is Priority.P1, verdict
        assert any(c.startswith("raise:") for c in verdict.cues), verdict
    for text in ["shots fired at the ref again lol", "OD on chocolate now? maybe",
                 "mum fell for it 2 times", "KNIFE SALE 40% off now",
                 "knife skills class at 7 now booking", "gun salute at 12 today",
                 "shooting at 5 today", "finally got shot of the sofa, 2 hours",
                 "breaking in my new boots now", "attacked by midges at 9pm",
                 "£6 a pint, daylight robbery 2 nights running",
                 "5 years since my overdose. grateful",
                 "Bank robbery 1983: the untold story https://t.co/P80lXlEXwu"]:
        verdict = TRIAGER.triage(text)
        assert not any(c.startswith("raise:") for c in verdict.cues), verdict
        assert verdict.priority not in (Priority.P1, Priority.P2), verdict


def test_someone_overdue_from_the_hills_reaches_a_person() -> None:
    """Blind set u's one post at P4 (session 20): a walker who said when he would be back,
    hours overdue, in calm words the model scores 0.01. Once back, it is left alone."""
    overdue = TRIAGER.triage("My husband went up the hill at 8 this morning for a 'wee walk', "
                             "said back for lunch. It's 10pm.")
    assert (overdue.score or 0) < TRIAGER.review_at, overdue   # the model alone: P4
    assert overdue.priority is Priority.P3 and overdue.category is Category.MISSING_PERSON
    back = TRIAGER.triage("dad went out fishing, said back by 6, he came back at 7 lol")
    assert not any(c.startswith("raise:") for c in back.cues), back


def test_a_plain_request_for_rescue_reaches_a_person_whatever_its_score() -> None:
    """A request for rescue with no place ("my grandma needs rescue") is at least review,
    never P4, however low the model scores it; a rescue dog or one that is over is not."""
    _queued_and_recorded(["my grandma needs rescue, she had a stroke",
                          "send a boat pls we are 6 here",
                          "trapped in the basement, the stairs are gone"],
                         ["adopted a rescue dog today, meet Biscuit",
                          "all 9 rescued, thank you to the coastguard",
                          "rescue me from this quiz night"], "hazard")


def test_an_override_applies_only_with_all_its_patterns_and_without_its_exception() -> None:
    rules = compile_rules({"categories": [], "raise": [
        {"pattern": r"\bgas\b", "also": [r"\bsmell\b", r"\bflat\b"], "unless": r"\bcooker\b",
         "floor": "P2"}]})
    low = Assessment(0.01, "other", 0.9)

    def raised(text: str) -> bool:
        verdict = decide(text, low, PostContext(lang="en"), rules, 0.5, 0.035)
        return verdict.priority is Priority.P2 and "raise:gas" in verdict.cues

    assert raised("strong smell of gas in the flat upstairs")
    assert not raised("strong smell of gas outside")            # `also` not all there
    assert not raised("smell of gas in the flat, the cooker was left on")   # `unless`
    with pytest.raises(RulesError, match=r"raise\[0\]\.also: a list"):
        compile_rules({"categories": [], "raise": [{"pattern": "x", "also": "y",
                                                    "floor": "P1"}]})
    with pytest.raises(RulesError, match=r"raise\[0\]\.unless"):
        compile_rules({"categories": [], "raise": [{"pattern": "x", "unless": "(",
                                                    "floor": "P1"}]})


def test_the_shipped_rules_queue_posts_filed_as_self_harm() -> None:
    assert RULES.thresholds.review_categories.get(Category.SELF_HARM) is not None
    assert RULES.thresholds.alert_categories.get(Category.SELF_HARM) is not None
    # Scored under the alert threshold (0.31), filed as self-harm: the category alerts.
    quiet = TRIAGER.triage("been saving them up for weeks. now i've got enough")
    assert (quiet.score or 0) < TRIAGER.alert_at, quiet
    assert quiet.priority is Priority.P1 and any(c.startswith("kind:self_harm")
                                                for c in quiet.cues), quiet
    past = TRIAGER.triage("this time last year i was stood on a bridge. today i ran a marathon")
    assert past.priority is Priority.P3, past
