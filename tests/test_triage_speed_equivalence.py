"""Triage's fast path decides as the plain computation does: a post gets the same verdict
whether its words are new (cold) or already made (warm), whatever the bound on the words
kept, and the score the training-time feature matrix gives it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from server.rules import load_triage_rules
from server.triage import corpus, rows
from server.triage.model import TriageModel
from server.triage.triager import SHIPPED_MODEL, Triager, load_model

ROOT = Path(__file__).resolve().parents[1]
POSTS = [e.text for e in corpus.load(corpus.corpus_files(ROOT / "corpus"))][::150]


def _fresh() -> TriageModel:
    """The shipped model with no word met yet (WordLlama shared: it costs a second)."""
    return TriageModel.load(SHIPPED_MODEL, embedder=load_model().features.embedder)


def test_cold_and_warm_words_give_the_same_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = load_triage_rules(None)
    triager = Triager(_fresh(), rules)
    cold = [triager.triage(t) for t in POSTS]
    assert [triager.triage(t) for t in POSTS] == cold
    monkeypatch.setattr(rows, "CACHE_WORDS", 40)   # the rows cleared every few posts
    bounded = Triager(_fresh(), rules)
    assert [bounded.triage(t) for t in POSTS] == cold


def test_scores_are_the_feature_matrix_scores() -> None:
    model = _fresh()
    heads = np.column_stack([model.coef, model.cat_coef.T]).astype(np.float64)
    logits = model.matrix(POSTS) @ heads + np.concatenate(
        [[model.intercept], model.cat_intercept])
    for text, row in zip(POSTS, logits, strict=True):
        got = model.assess(text)
        assert got.score == pytest.approx(1 / (1 + np.exp(-row[0])), abs=1e-6)
        probs = np.exp(row[1:] - row[1:].max())
        probs /= probs.sum()
        assert got.category_p == pytest.approx(probs.max(), abs=1e-6)
        if np.sort(probs)[-2] < probs.max() - 1e-4:   # not a near tie
            assert got.category == model.categories[int(probs.argmax())]
