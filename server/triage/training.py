"""Training: cross-validated calibration of the band thresholds, then the shipped fit.

Deterministic: examples are ordered by their normalised text, folds are a hash of it, and
the solver runs on one thread; the same corpus gives the same weights byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .corpus import Example
from .model import Hyper, TriageModel
from .neighbours import CATEGORY as NEAR_CATEGORY

# The review band must catch this share of urgent posts (nothing urgent left at P4) ...
REVIEW_RECALL = 0.997
# ... and the alert band this share, unless that would alert on more calm posts than this.
# The calm share is what holds real off-topic tweets under the issue's 2%: the shipped
# models have alerted on 3.3-3.5% of the corpus's calm posts out of fold, and session 17's
# harder urgent posts (winter, coded calls, local place names) pulled the recall-only
# threshold from 0.536 to 0.507, where CrisisLex T6 off-topic tweets alert at 2.45%.
ALERT_RECALL = 0.94
ALERT_MAX_FALSE = 0.035


def fold_of(ex: Example, k: int) -> int:
    """The cross-validation fold of an example (independent of the held-out split)."""
    digest = hashlib.sha256(b"fold:" + ex.key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % k


def ordered(examples: Sequence[Example]) -> list[Example]:
    """Examples in a fixed order (by normalised text), readable by training."""
    return sorted((e for e in examples if e.lang == "en"), key=lambda e: e.key)


def fit(examples: Sequence[Example], hyper: Hyper | None = None) -> TriageModel:
    """A model fitted on these examples (those marked `category_only` teach the category
    head alone: the vocabularies and the urgency head never see them)."""
    exs = ordered(examples)
    both = [e for e in exs if not e.category_only]
    kind = [e for e in exs if e.category_only]
    return TriageModel(hyper).fit([e.text for e in both], [e.urgent for e in both],
                                  [e.category for e in both],
                                  category_only=([e.text for e in kind],
                                                 [e.category for e in kind]),
                                  near=[e.text for e in exs
                                        if e.urgent and e.category == NEAR_CATEGORY])


def out_of_fold(examples: Sequence[Example], k: int = 5,
                hyper: Hyper | None = None) -> tuple[list[Example], np.ndarray]:
    """Each example's score from a model that did not see it (k-fold). Examples marked
    `category_only` are left out: the score is the urgency head's, which they do not train,
    and calibrating the bands on them would drag the review threshold down to posts the
    urgency head was never taught."""
    exs = [e for e in ordered(examples) if not e.category_only]
    scores = np.zeros(len(exs))
    folds = np.array([fold_of(e, k) for e in exs])
    for f in range(k):
        model = fit([e for e, g in zip(exs, folds, strict=True) if g != f], hyper)
        for i in np.flatnonzero(folds == f):
            scores[i] = model.assess(exs[i].text).score
    return exs, scores


@dataclass(frozen=True)
class Calibration:
    """Thresholds chosen from out-of-fold scores, and what they gave."""

    alert: float
    review: float
    recall_alert: float
    false_alert: float
    recall_review: float

    def as_meta(self) -> dict[str, Any]:
        return {"alert": round(self.alert, 4), "review": round(self.review, 4),
                "oof": {"recall_alert": round(self.recall_alert, 4),
                        "false_alert": round(self.false_alert, 4),
                        "recall_review": round(self.recall_review, 4)}}


def calibrate(urgent: np.ndarray, scores: np.ndarray) -> Calibration:
    """The highest thresholds that keep the recall targets (see the constants above)."""
    pos, neg = np.sort(scores[urgent]), scores[~urgent]
    review = float(pos[int(np.floor((1 - REVIEW_RECALL) * len(pos)))]) - 1e-6
    alert = float(pos[int(np.floor((1 - ALERT_RECALL) * len(pos)))]) - 1e-6
    calm_cut = float(np.quantile(neg, 1 - ALERT_MAX_FALSE)) if len(neg) else 0.0
    alert = max(alert, calm_cut)
    review = min(review, alert)
    return Calibration(alert, review, float((pos >= alert).mean()),
                       float((neg >= alert).mean()) if len(neg) else 0.0,
                       float((pos >= review).mean()))


def corpus_digest(examples: Sequence[Example]) -> str:
    """A hash of what a model was trained on (text and labels)."""
    h = hashlib.sha256()
    for e in ordered(examples):
        marked = "\tcategory_only" if e.category_only else ""
        h.update(f"{e.key}\t{e.urgent}\t{e.category}{marked}\n".encode())
    return h.hexdigest()
