"""The triage model: does someone need emergency help now (a score), and what kind.

`TriageModel.fit` learns two linear heads over the same features (urgent / calm, and the
category); `assess` scores one post with plain numpy. Parameters are saved as an `.npz` of
arrays and a JSON file of vocabularies and settings: no pickles, nothing executable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..domain.triage import Assessment
from .features import (
    CACHE_WORDS,
    EMBED_DIM,
    Embedder,
    Featurizer,
    Floats,
    Ints,
    NgramSpace,
    WordFeatures,
)
from .text import for_model, words

FORMAT = 1
CUE_MIN = 0.05  # a phrase must move the log-odds at least this much to be named as a cue
# Words too common to explain anything on their own ("the", "and", "it's").
FILLER = frozenset({
    "a", "an", "the", "and", "or", "but", "so", "to", "of", "in", "on", "at", "by", "for",
    "with", "from", "is", "are", "was", "were", "be", "been", "am", "i", "im", "i'm", "me",
    "my", "we", "us", "our", "you", "your", "he", "she", "it", "its", "it's", "they", "them",
    "their", "this", "that", "there", "theres", "there's", "just", "now", "up", "out", "get",
    "got", "has", "have", "had", "do", "does", "did", "not", "no"
})


@dataclass(frozen=True)
class Hyper:
    """Training settings, saved with the weights."""

    c_urgent: float = 2.0
    c_category: float = 4.0
    embed_weight: float = 1.0      # the embedding block's scale against the n-gram blocks


class TriageModel:
    """Word + character TF-IDF and an embedding, under two logistic-regression heads."""

    def __init__(self, hyper: Hyper | None = None, featurizer: Featurizer | None = None) -> None:
        self.hyper = hyper or Hyper()
        self.features = featurizer or Featurizer()
        self.coef: Floats = np.zeros(0, np.float32)
        self.intercept = 0.0
        self.categories: list[str] = []
        self.cat_coef: Floats = np.zeros((0, 0), np.float32)
        self.cat_intercept: Floats = np.zeros(0, np.float32)
        self.meta: dict[str, Any] = {}
        self._parts: dict[str, tuple[WordFeatures, Floats]] = {}

    def _widths(self) -> tuple[int, int, int]:
        nw, nc = len(self.features.word), len(self.features.char)
        return nw, nc, nw + nc + EMBED_DIM

    def matrix(self, texts: Sequence[str]) -> Any:
        """The feature matrix (scipy CSR) of many posts: for training and evaluation."""
        from scipy import sparse  # training-time only

        nw, nc, width = self._widths()
        dense = np.arange(nw + nc, width, dtype=np.int32)
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            f = self.features.features(for_model(text))
            idx = np.concatenate([f.word_idx, f.char_idx + nw, dense])
            rows.append(np.full(len(idx), r, np.int32))
            cols.append(idx)
            vals.append(np.concatenate([f.word_val, f.char_val,
                                        f.embedding * self.hyper.embed_weight]))
        return sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(texts), width), dtype=np.float32)

    # -- training ---------------------------------------------------------------------
    def fit(self, texts: Sequence[str], urgent: Sequence[bool],
            categories: Sequence[str]) -> TriageModel:
        """Learn vocabularies and both heads from labelled posts (deterministic)."""
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        self.features.fit([for_model(t) for t in texts])
        x = self.matrix(texts)
        with threadpool_limits(1):  # one thread: the same sums in the same order each run
            head = LogisticRegression(C=self.hyper.c_urgent, class_weight="balanced",
                                      max_iter=5000, solver="lbfgs")
            head.fit(x, np.asarray(urgent, dtype=np.int8))
            cat = LogisticRegression(C=self.hyper.c_category, max_iter=5000, solver="lbfgs")
            cat.fit(x, np.asarray(categories))
        self.coef = head.coef_[0].astype(np.float32)
        self.intercept = float(head.intercept_[0])
        self.categories = [str(c) for c in cat.classes_]
        self.cat_coef = cat.coef_.astype(np.float32)
        self.cat_intercept = cat.intercept_.astype(np.float32)
        self._parts.clear()
        return self

    # -- inference --------------------------------------------------------------------
    def _contribution(self, token: str) -> tuple[WordFeatures, Floats]:
        """One word's features and what its embedding adds, cached: [the urgency logit, the
        K category logits] of its embedding sum, before the post's normalisation."""
        part = self._parts.get(token)
        if part is None:
            if len(self._parts) >= CACHE_WORDS:
                self._parts.clear()
            nw, nc, _ = self._widths()
            wf = self.features.word_features(token)
            logits = np.concatenate([[self.coef[nw + nc:] @ wf.embedding],
                                     self.cat_coef[:, nw + nc:] @ wf.embedding])
            part = self._parts[token] = (wf, logits.astype(np.float32))
        return part

    def assess(self, text: str, top_cues: int = 3, cues_from: float = 0.0,
               tokens: Sequence[str] | None = None) -> Assessment:
        """Score one post with plain numpy. Cues are worked out only for a score of at
        least `cues_from` (nobody reads the others'). `tokens`: words(for_model(text)), if
        the caller has them already."""
        nw = len(self.features.word)
        tokens = words(for_model(text)) if tokens is None else tokens
        wi, wv = self.features.word_block(tokens)
        word_part = self.coef[wi] * wv
        z = self.intercept + float(word_part.sum())
        logits = self.cat_intercept + self.cat_coef[:, wi] @ wv
        if tokens:
            parts = [self._contribution(t) for t in tokens]
            ci, cv = self.features.char_block([wf for wf, _ in parts])
            cols = ci + nw
            z += float(self.coef[cols] @ cv)
            logits = logits + self.cat_coef[:, cols] @ cv
            norm = float(np.linalg.norm(np.sum([wf.embedding for wf, _ in parts], axis=0)))
            if norm > 0:
                emb = np.sum([p for _, p in parts], axis=0) * (self.hyper.embed_weight / norm)
                z += float(emb[0])
                logits = logits + emb[1:]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = int(probs.argmax())
        score = _sigmoid(z)
        cues = self._cues(wi, word_part, top_cues) if score >= cues_from else ()
        return Assessment(score=score, category=self.categories[best],
                          category_p=float(probs[best]), cues=cues)

    def _cues(self, idx: Ints, contribution: Floats, top: int) -> tuple[str, ...]:
        """The word n-grams that pushed the score up most: phrases of words only (no
        punctuation or generic digits), not made of filler words alone."""
        terms = self.features.word.terms
        out: list[str] = []
        for k in np.argsort(-contribution):
            if contribution[k] <= CUE_MIN or len(out) == top:
                break
            parts = terms[idx[k]].split()
            if (all(any(ch.isalpha() for ch in w) for w in parts)
                    and not all(w in FILLER for w in parts)):
                out.append(" ".join(parts))
        return tuple(out)

    # -- persistence ------------------------------------------------------------------
    def save(self, folder: Path, meta: dict[str, Any] | None = None) -> None:
        """Write `triage.npz` and `triage.json` into folder."""
        folder.mkdir(parents=True, exist_ok=True)
        self.meta = {**self.meta, **(meta or {})}
        np.savez_compressed(
            folder / "triage.npz", word_idf=self.features.word.idf,
            char_idf=self.features.char.idf, coef=self.coef,
            intercept=np.array([self.intercept], np.float64),
            cat_coef=self.cat_coef, cat_intercept=self.cat_intercept)
        doc = {"format": FORMAT, "hyper": vars(self.hyper), "categories": self.categories,
               "word_vocab": self.features.word.terms,
               "char_vocab": self.features.char.terms, "meta": self.meta}
        (folder / "triage.json").write_text(
            json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
            encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, embedder: Embedder | None = None) -> TriageModel:
        """Read a model written by save; ValueError if the files do not fit together."""
        doc = json.loads((folder / "triage.json").read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"{folder}: triage model format {doc.get('format')!r}, "
                             f"expected {FORMAT}")
        with np.load(folder / "triage.npz") as arrays:
            featurizer = Featurizer(NgramSpace(doc["word_vocab"], arrays["word_idf"]),
                                    NgramSpace(doc["char_vocab"], arrays["char_idf"]),
                                    embedder)
            model = cls(Hyper(**doc["hyper"]), featurizer)
            model.coef, model.intercept = arrays["coef"], float(arrays["intercept"][0])
            model.cat_coef, model.cat_intercept = arrays["cat_coef"], arrays["cat_intercept"]
        model.categories = list(doc["categories"])
        model.meta = doc.get("meta", {})
        if model.coef.shape[0] != model._widths()[2] or (
                model.cat_coef.shape != (len(model.categories), model.coef.shape[0])):
            raise ValueError(f"{folder}: weights do not match the vocabularies")
        return model


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))
