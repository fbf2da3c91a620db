"""The triage model: does someone need emergency help now (a score), and what kind.

`TriageModel.fit` learns two linear heads over the same features (urgent / calm, and the
category); `assess` scores one post with plain numpy. Parameters are saved as an `.npz` of
arrays and a JSON file of vocabularies and settings: no pickles, nothing executable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ..domain.triage import Assessment
from .features import (
    EMBED_DIM,
    SUBLINEAR,
    SUBLINEAR64,
    Embedder,
    Featurizer,
    Floats,
    Ints,
    NgramSpace,
)
from .neighbours import CATEGORY as NEAR_CATEGORY
from .neighbours import nearest, unit_rows
from .rows import WordRows
from .text import for_model, words

FORMAT = 2  # 2: the embedding weighs words by idf
FILL_STEP = 16  # words made together by a step of fill_word_rows (~1 ms)
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
    # The embedding block's scale against the n-gram blocks. 0.35 since session 18 (0.5
    # before): with the thresholds calibrated again, P1 over the blind sets rose (91.4% to
    # 91.7%; a, b, f and j lost a post each), and fewer real off-topic tweets alerted (T6
    # 1.97% to 1.89%) and more real requests did (82.6% to 83.5%); README, Triage.
    embed_weight: float = 0.35
    embed_idf: bool = True         # words count in the embedding by their idf


class TriageModel:
    """Word + character TF-IDF and an embedding, under two logistic-regression heads."""

    def __init__(self, hyper: Hyper | None = None, featurizer: Featurizer | None = None) -> None:
        self.hyper = hyper or Hyper()
        self.features = featurizer or Featurizer(idf_weighted=self.hyper.embed_idf)
        self.coef: Floats = np.zeros(0, np.float32)
        self.intercept = 0.0
        self.categories: list[str] = []
        self.cat_coef: Floats = np.zeros((0, 0), np.float32)
        self.cat_intercept: Floats = np.zeros(0, np.float32)
        self.meta: dict[str, Any] = {}
        # Unit embeddings of the urgent self-harm training posts (neighbours.py).
        self.near_rows: Floats = np.zeros((0, EMBED_DIM), np.float32)
        self._words: WordRows | None = None
        self._cue_texts: dict[int, str] = {}
        self._weights: Floats | None = None
        self._bias: npt.NDArray[np.float64] = np.zeros(0)

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
    def fit(self, texts: Sequence[str], urgent: Sequence[bool], categories: Sequence[str],
            category_only: tuple[Sequence[str], Sequence[str]] = ((), ()),
            near: Sequence[str] = ()) -> TriageModel:
        """Learn vocabularies and both heads from labelled posts (deterministic).
        `category_only`: (texts, categories) the category head learns from as well; the
        vocabularies and the urgency head are exactly what they are without them. `near`:
        the urgent self-harm posts whose embeddings are kept (neighbours.py)."""
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        self.features.fit([for_model(t) for t in texts])
        x = self.matrix(texts)
        kind_texts, kind_categories = category_only
        x_cat = sparse.vstack([x, self.matrix(kind_texts)]).tocsr() if kind_texts else x
        with threadpool_limits(1):  # one thread: the same sums in the same order each run
            head = LogisticRegression(C=self.hyper.c_urgent, class_weight="balanced",
                                      max_iter=5000, solver="lbfgs")
            head.fit(x, np.asarray(urgent, dtype=np.int8))
            cat = LogisticRegression(C=self.hyper.c_category, max_iter=5000, solver="lbfgs")
            cat.fit(x_cat, np.asarray([*categories, *kind_categories]))
        self.coef = head.coef_[0].astype(np.float32)
        self.intercept = float(head.intercept_[0])
        self.categories = [str(c) for c in cat.classes_]
        self.cat_coef = cat.coef_.astype(np.float32)
        self.cat_intercept = cat.intercept_.astype(np.float32)
        # Kept at the precision they are saved in, so a loaded model looks the same.
        self.near_rows = unit_rows(self.features, near).astype(np.float16).astype(np.float32)
        self._words = None
        self._cue_texts = {}
        self._weights = None
        return self

    # -- inference --------------------------------------------------------------------
    def _table(self) -> tuple[Floats, npt.NDArray[np.float64]]:
        """Both heads side by side, one row per feature: [urgency, K categories], so one
        row gather serves both heads; and their intercepts."""
        if self._weights is None:
            self._weights = np.ascontiguousarray(
                np.column_stack([self.coef, self.cat_coef.T]), dtype=np.float32)
            self._bias = np.concatenate([[self.intercept], self.cat_intercept]).astype(
                np.float64)
            # The heads become views of the table: the same values, kept once (5 MB).
            self.coef, self.cat_coef = self._weights[:, 0], self._weights[:, 1:].T
        return self._weights, self._bias

    def word_rows(self) -> WordRows:
        """The words met so far, as rows of what each brings to a post."""
        if self._words is None:
            table, _ = self._table()
            nw, nc, _ = self._widths()
            self._words = WordRows(self.features, table[nw + nc:])
        return self._words

    def commonest_words(self, count: int) -> list[str]:
        """The `count` single words of the vocabulary in the most training posts."""
        space = self.features.word
        single = [i for i, t in enumerate(space.terms) if " " not in t]
        single.sort(key=lambda i: (float(space.idf[i]), space.terms[i]))
        return [space.terms[i] for i in single[:count]]

    def fill_word_rows(self, count: int) -> Iterator[None]:
        """Make the rows of the `count` commonest words ahead, FILL_STEP at a time, rather
        than one post at a time: a post's first use of a word costs 30-50 us, and in a
        fresh process nearly every word is new. Yields after each step (~1 ms), so that a
        caller on the event loop lets posts through between steps. It must run on the
        thread that triages: the rows it adds to are the live ones (and a worker thread
        would contend for the GIL with the event loop for those 0.25 s)."""
        rows = self.word_rows()
        if rows.filled >= count:
            return   # every app of a process shares the loaded model: once is enough
        words = [w for w in self.commonest_words(count) if w not in rows.row]
        for start in range(0, len(words), FILL_STEP):
            rows.add(words[start:start + FILL_STEP])
            yield
        rows.filled = count

    def assess(self, text: str, top_cues: int = 3, cues_from: float = 0.0,
               tokens: Sequence[str] | None = None,
               look_near: tuple[float, float] | None = None) -> Assessment:
        """Score one post with plain numpy. Cues are worked out only for a score of at
        least `cues_from` (nobody reads the others'). `tokens`: words(for_model(text)), if
        the caller has them already. `look_near` (score, p): for a post scoring below that
        score that the category head gives at least p of self-harm, the cosine of the
        nearest urgent self-harm training post (`near`; neighbours.py)."""
        table, bias = self._table()
        tokens = words(for_model(text)) if tokens is None else tokens
        known = self.word_rows()
        rows = known.rows(tokens)
        wi, wv = known.word_block(tokens, rows)
        cols, vals = wi, wv
        logits = bias
        head, norm = None, 0.0
        if rows:
            grams = np.concatenate([known.chars[r] for r in rows])
            if grams.size:   # the char block, then one gather for both sparse blocks
                ci, counts = _counted(grams)
                cv = (SUBLINEAR64.take(counts) if grams.size < SUBLINEAR
                      else 1.0 + np.log(counts)) * known.char_idf.take(ci)
                cols = np.concatenate([wi, ci])
                vals = np.concatenate([wv, cv / math.sqrt(float(cv @ cv))])
            dense = np.add.reduce(known.dense.take(rows, axis=0), axis=0)   # [embedding, logits]
            head = dense[:EMBED_DIM]
            norm = math.sqrt(float(head @ head))
            if norm > 0:
                logits = logits + dense[EMBED_DIM:] * (self.hyper.embed_weight / norm)
        weights = table.take(cols, axis=0)   # take: a third of the time of table[cols]
        urgency, *cats = (logits + vals @ weights).tolist()
        # One exp for both heads (np.exp gives the same bits in any array): the sigmoid's,
        # and the softmax's from the largest category logit.
        top = max(cats)
        exps = np.exp([-urgency, *[c - top for c in cats]])
        score = float(1.0 / (1.0 + exps[0]))
        probs = exps[1:]
        probs = probs / probs.sum()
        best = int(probs.argmax())
        cues = (self._cues(wi, weights[:len(wi), 0] * wv, top_cues) if score >= cues_from
                else ())
        values = probs.tolist()
        by_category = dict(zip(self.categories, values, strict=True))
        near = None
        if (look_near is not None and head is not None and score < look_near[0]
                and by_category.get(NEAR_CATEGORY, 0.0) >= look_near[1]):
            near = nearest(self.near_rows, head, norm)
        return Assessment(score=score, category=self.categories[best],
                          category_p=values[best], cues=cues, probs=by_category, near=near)

    def _cues(self, idx: Ints, contribution: Floats, top: int) -> tuple[str, ...]:
        """The word n-grams that pushed the score up most (those _cue_text allows)."""
        terms, texts = self.features.word.terms, self._cue_texts
        limit = float(np.float32(CUE_MIN))   # the float32 comparison, on Python floats
        values, cols = contribution.tolist(), idx.tolist()
        out: list[str] = []
        for k in np.argsort(-contribution).tolist():
            if values[k] <= limit or len(out) == top:
                break
            text = texts.get(cols[k])
            if text is None:   # the same columns come up again and again: kept
                text = texts[cols[k]] = _cue_text(terms[cols[k]])
            if text:
                out.append(text)
        return tuple(out)

    # -- persistence ------------------------------------------------------------------
    def save(self, folder: Path, meta: dict[str, Any] | None = None) -> None:
        """Write `triage.npz` and `triage.json` into folder."""
        folder.mkdir(parents=True, exist_ok=True)
        self.meta = {**self.meta, **(meta or {})}
        # Stored, not deflated: the weights barely compress (18%) and inflating them took
        # 60 ms of every start-up.
        np.savez(
            folder / "triage.npz", word_idf=self.features.word.idf,
            char_idf=self.features.char.idf, coef=self.coef,
            intercept=np.array([self.intercept], np.float64),
            # Column-major, as scikit-learn fits it: the same bytes whether or not the
            # head is now a view of the table (_table).
            cat_coef=np.asfortranarray(self.cat_coef), cat_intercept=self.cat_intercept,
            # float16: half the size, and a cosine needs no more
            near_rows=self.near_rows.astype(np.float16))
        doc = {"format": FORMAT, "hyper": vars(self.hyper), "categories": self.categories,
               "word_vocab": self.features.word.terms,
               "char_vocab": self.features.char.terms, "meta": self.meta}
        (folder / "triage.json").write_text(
            json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
            encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, embedder: Embedder | None = None) -> TriageModel:
        """Read a model written by save; ValueError if the files do not fit together."""
        doc = orjson.loads((folder / "triage.json").read_bytes())   # 1 MB: orjson is 3x faster
        if doc.get("format") != FORMAT:
            raise ValueError(f"{folder}: triage model format {doc.get('format')!r}, "
                             f"expected {FORMAT}")
        with np.load(folder / "triage.npz") as arrays:
            hyper = Hyper(**doc["hyper"])
            featurizer = Featurizer(NgramSpace(doc["word_vocab"], arrays["word_idf"]),
                                    NgramSpace(doc["char_vocab"], arrays["char_idf"]),
                                    embedder, idf_weighted=hyper.embed_idf)
            model = cls(hyper, featurizer)
            model.coef, model.intercept = arrays["coef"], float(arrays["intercept"][0])
            model.cat_coef, model.cat_intercept = arrays["cat_coef"], arrays["cat_intercept"]
            if "near_rows" in arrays.files:   # models saved before session 10 have none
                model.near_rows = np.ascontiguousarray(arrays["near_rows"], np.float32)
        model.categories = list(doc["categories"])
        model.meta = doc.get("meta", {})
        if model.coef.shape[0] != model._widths()[2] or (
                model.cat_coef.shape != (len(model.categories), model.coef.shape[0])):
            raise ValueError(f"{folder}: weights do not match the vocabularies")
        return model


def _cue_text(term: str) -> str:
    """A word n-gram as a cue, or "" if it is not one: phrases of words only (no punctuation
    or generic digits), not made of filler words alone."""
    parts = term.split()
    if (all(any(ch.isalpha() for ch in w) for w in parts)
            and not all(w in FILLER for w in parts)):
        return " ".join(parts)
    return ""


def _counted(values: Ints) -> tuple[Ints, Ints]:
    """np.unique(values, return_counts=True) for the few hundred n-grams of one post, in
    a third of the time (np.unique's generality costs more than the sort at this size).
    Sorts `values` in place."""
    values.sort()
    edges = np.ones(values.size + 1, bool)   # where a run of equal values starts or ends
    np.not_equal(values[1:], values[:-1], out=edges[1:-1])
    starts = edges.nonzero()[0]
    return values.take(starts[:-1]), starts[1:] - starts[:-1]
