"""The rules' prefilter (server/domain/prefilter.py) never skips a pattern that matches.

It decides which `raise` rules run on a post, so a wrong skip would leave a cry for help a
force's rule names at P4. Checked three ways: its reading of pattern shapes, a property
over random patterns and texts, and every rule of the shipped file on every corpus post.

Broken variants these catch: a `?` or a character class read as required, a lookahead or
`\\b` read as a character, a scoped `(?i:...)` or `x*` start read literally, and starts cut
at a needle that is not a prefix of the match."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.prefilter import NEEDLE_CHARS, Prefilter, literal_starts
from server.domain.rulebook import alternation, match_rules, normalise
from server.rules import load_triage_rules
from server.triage import corpus

ROOT = Path(__file__).resolve().parents[1]


def starts(pattern: str) -> frozenset[str] | None:
    return literal_starts(re.compile(pattern))


def test_literal_starts_read_optional_parts_classes_and_zero_width_items() -> None:
    assert starts(r"\bshots? fired\b") == {"shot fired", "shots fired"}
    assert starts(r"\b(trapped|cut off)\b") == {"trapped", "cut off"}
    assert starts(r"(^|[.!] ?)not safe") == {"not safe", ".not safe", ". not safe",
                                             "!not safe", "! not safe"}
    assert starts(r"(?<!no )smoke") == {"smoke"}          # a lookbehind is zero width
    assert starts(r"u[5-7]s?\b") == {"u5", "u6", "u7", "u5s", "u6s", "u7s"}
    assert starts(r"(?:ab)+c") == {"ab"}                  # once at least, then unknown
    long = starts(r"\bsomeone is breaking in")
    assert long == {"someone is breaking in"[:NEEDLE_CHARS]}


def test_patterns_that_can_start_anywhere_are_always_run() -> None:
    for pattern in (r".*fire", r"\d+ trapped", r"x*y", r"[a-z]+ly", r"(?i)fire",
                    r"(?i:fire)", r"[^a]bc", r"[a-z]x", r"(a|.)b", r"", r"(?:)x?"):
        assert starts(pattern) is None, pattern
    prefilter = Prefilter([re.compile(r"\d+ trapped"), re.compile(r"\bflood")])
    assert prefilter.always == {0}
    assert prefilter.candidates("12 trapped") == {0}
    assert prefilter.candidates("flooded street") == {0, 1}


_ALPHABET = "ab .!"
_ATOMS = st.one_of(
    st.sampled_from(["a", "b", " ", r"\.", "!", "ab", "ba", r"\b", "^", "$", "[ab]", "[.!]",
                     "[^a]", "[a-b]", "[ -b]", ".", r"\w", r"(?=a)", r"(?<!b)", r"(?i:a)"]),
)


@st.composite
def patterns(draw: st.DrawFn, depth: int = 0) -> str:
    """A random regular expression over a tiny alphabet: sequences, groups, alternations
    and repeats of the items the prefilter reads or refuses."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if depth < 2 and draw(st.booleans()):
            inner = [draw(patterns(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
            # A group repeats a bounded number of times: `(x*)*` backtracks for minutes.
            item = "(" + "|".join(inner) + ")" + draw(st.sampled_from(["", "?", "{2}",
                                                                        "{0,2}", "{1,2}"]))
        else:
            item = draw(_ATOMS)
            if item not in (r"\b", "^", "$", "(?=a)", "(?<!b)"):
                item += draw(st.sampled_from(["", "", "?", "+", "*", "{2}", "{0,2}"]))
        parts.append(item)
    return "".join(parts)


@settings(max_examples=600, deadline=None)
@given(patterns(), st.lists(st.text(alphabet=_ALPHABET, max_size=12), min_size=1, max_size=6))
def test_a_pattern_that_matches_is_never_skipped(pattern: str, texts: list[str]) -> None:
    compiled = re.compile(pattern)
    prefilter = Prefilter([compiled])
    for text in texts:
        if compiled.search(text):
            assert 0 in prefilter.candidates(text), (pattern, text)


def test_every_shipped_rule_runs_on_every_corpus_post_it_matches() -> None:
    rules = load_triage_rules(None)
    posts = [normalise(e.text) for e in corpus.load(corpus.corpus_files(ROOT / "corpus"))]
    words = [alternation(rules.chatter), alternation(rules.urgency),
             *[alternation(r.patterns) for r in rules.categories]]
    checked = 0
    for patterns, prefilter in (([f.pattern for f in rules.floors], rules.floor_filter),
                                ([o.pattern for o in rules.downgrade], rules.downgrade_filter),
                                (words, rules.word_filter)):
        # The filter must do its job too: most rules are read, not always run.
        assert len(prefilter.always) <= len(patterns) // 4
        for clean in posts:
            run = prefilter.candidates(clean)
            for i, pattern in enumerate(patterns):
                if pattern.search(clean):
                    assert i in run, (pattern.pattern[:80], clean)
                    checked += 1
    assert checked > 1000   # the corpus meets the rules often enough to mean something


def test_rule_hits_are_those_of_every_pattern_run() -> None:
    """match_rules with the filter gives what running every category, urgency and chatter
    pattern gives (the cues an officer reads on an alert)."""
    rules = load_triage_rules(None)

    class Everything(Prefilter):
        """Names every pattern: what running them all gives."""

        def candidates(self, text: str) -> set[int]:
            return set(range(2 + len(rules.categories)))

    plain = replace(rules)
    plain.__dict__["word_filter"] = Everything([])   # where cached_property keeps its value
    posts = [e.text for e in corpus.load(corpus.corpus_files(ROOT / "corpus"))][::7]
    hits = [match_rules(t, rules) for t in posts]
    assert hits == [match_rules(t, plain) for t in posts]
    assert sum(1 for h in hits if h.categories) > len(posts) // 10
