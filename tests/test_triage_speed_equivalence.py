"""Triage's fast path decides as the plain computation does: a post gets the same verdict
whether its words are new (cold) or already made (warm), whatever the bound on the words
kept, made ahead by the warm-up or not, and the score the training-time feature matrix
gives it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from server.rules import load_triage_rules
from server.triage import corpus, rows
from server.triage.model import FILL_STEP, TriageModel
from server.triage.text import for_model, words
from server.triage.triager import FILL_WORDS, SHIPPED_MODEL, Triager, load_model

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
    # Fewer rows than a post has words: its rows are made past the bound, never lost.
    monkeypatch.setattr(rows, "CACHE_WORDS", 3)
    tiny = Triager(_fresh(), rules)
    assert [tiny.triage(t) for t in POSTS] == cold


def test_words_made_ahead_give_the_same_verdicts() -> None:
    rules = load_triage_rules(None)
    cold = [Triager(_fresh(), rules).triage(t) for t in POSTS]
    model = _fresh()
    space = model.features.word
    commonest = model.commonest_words(FILL_WORDS)
    single = [i for i, t in enumerate(space.terms) if " " not in t]
    rarer = [space.idf[i] for i in single if space.terms[i] not in set(commonest)]
    assert all(" " not in w for w in commonest) and "the" in commonest
    assert not rarer or max(space.idf[space.index[w]] for w in commonest) <= min(rarer)
    triager = Triager(model, rules)
    steps = sum(1 for _ in triager.fill())
    assert steps > len(commonest) // FILL_STEP   # small steps, posts let through between them
    filled = model.word_rows()
    assert set(filled.row) == set(commonest)
    assert [triager.triage(t) for t in POSTS] == cold
    # The posts themselves made rows only for words outside those, in the same rows.
    seen = {w for t in POSTS for w in words(for_model(t))}
    assert len(commonest) < len(filled.row) and set(filled.row) <= set(commonest) | seen
    made = len(filled.row)
    # Another app in the process: the rules' three steps (compiled already), no words made.
    assert sum(1 for _ in triager.fill()) == 3
    assert model.word_rows() is filled and len(filled.row) == made


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


def test_the_embedding_is_wordllamas_own() -> None:
    """The table is read from WordLlama's wheel without its loader, kept in float16: each
    word's sum is the one WordLlama's own float32 table gives, to the bit."""
    import wordllama  # the loader the server no longer imports

    from server.triage.features import Embedder, _wordllama

    theirs = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent,
                                      disable_download=True)
    table, _ = _wordllama()
    assert table.dtype == np.float16 and table.shape == theirs.embedding.shape
    sample = ["the", "can't", "breathe", "grandad's", "🔥", "zqxw", "knife", "flooding"]
    ours = Embedder().token_sums(sample)
    for word, row in zip(sample, ours, strict=True):
        ids = theirs.tokenizer.encode(word, add_special_tokens=False).ids
        assert ids and np.array_equal(row, np.add.reduce(theirs.embedding[ids], axis=0))


def test_a_word_is_tokenized_as_wordllamas_encode_does() -> None:
    """Embedder asks the BPE model for a word's tokens directly (a third of the time of the
    tokenizer's encode); the ids must be encode's, for every kind of word a post has."""
    from server.triage.features import _wordllama

    embedder = load_model().features.embedder
    _, tokenizer = _wordllama()
    seen = sorted({w for e in corpus.load(corpus.corpus_files(ROOT / "corpus"))
                   for w in words(for_model(e.text))})
    odd = ["▁", "<", "s", "unk", "naïve", "straße", "ładnie", "кошка", "東京", "🚒", "🏳️",
           "x" * 300, "ǅ", "\u200d", "a\u0301"]
    for word in [*seen[::7], *odd]:
        assert embedder.token_ids(word) == tokenizer.encode(
            word, add_special_tokens=False).ids, word
