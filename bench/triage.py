"""Triage throughput on one core: the whole decision (language, model, rules) per post.

Peer: the keyword rules alone (what triage was before the model), on the same posts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from server.domain.rulebook import match_rules
from server.rules import load_triage_rules
from server.triage import corpus, language
from server.triage.triager import Triager, load_model

from .common import ROOT, Result

GOAL = 5000.0  # posts per second on one core (issue 9)


def _rate(fn: Callable[[str], object], texts: Sequence[str], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            fn(text)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def run(posts: int = 2000, rounds: int = 3) -> list[Result]:
    """Posts/s for a fresh process: with every word new, on a first pass after the
    server's warm-up (the commonest words made ahead), and once every word is made."""
    rules = load_triage_rules(None)
    started = time.perf_counter()
    model = load_model()   # and WordLlama, as at a server's start
    loaded = time.perf_counter() - started
    _, held = corpus.split(corpus.load(corpus.corpus_files(ROOT / "corpus")))
    texts = [e.text for e in held][:posts]
    peer = _rate(lambda t: match_rules(t, rules), texts, rounds)
    # The language identifier loads once per process, for the first post that needs it: a
    # library's load, not the per-word work the cold figure is about, so it is timed apart.
    started = time.perf_counter()
    language.load_identifier()
    identifier = time.perf_counter() - started
    model.word_rows().forget()
    triager = Triager(model, rules)
    unmade = _rate(triager.triage, texts, 1)   # every word new, as before the warm-up
    cold = filled = 0.0
    for _ in range(rounds):   # the best of a few fresh starts, as warm is the best round
        model.word_rows().forget()
        started = time.perf_counter()
        for _ in triager.fill():   # what a server's warm-up makes ahead
            pass
        filled = time.perf_counter() - started
        cold = max(cold, _rate(triager.triage, texts, 1))
    warm = _rate(triager.triage, texts, rounds)
    note = (f"{len(texts)} corpus posts, mean {sum(map(len, texts)) / len(texts):.0f} chars; "
            f"loaded first: model {loaded:.2f} s, language identifier {identifier:.2f} s; "
            f"warm-up made {triager.model.word_rows().filled:,} words in {filled:.2f} s")
    goal = f">= {GOAL:.0f} posts/s"
    return [
        Result("triage (model + rules), first pass after the warm-up", cold, "posts/s", peer,
               "keyword rules alone", goal=goal, met=cold >= GOAL, note=note),
        Result("triage (model + rules), warm word cache", warm, "posts/s", peer,
               "keyword rules alone", goal=goal, met=warm >= GOAL, note=note),
        Result("triage (model + rules), every word new (no warm-up)", unmade, "posts/s",
               peer, "keyword rules alone", note=note),
    ]
