"""A second look for a post about to be recorded: how close it comes to the corpus's urgent
self-harm posts.

The quiet goodbyes a linear score misses ("that's me checked out. don't wait up", "whats
the most painless way. asking for tonight") read as chatter word by word, yet their
embedding lies close to goodbyes the corpus holds. The model keeps the unit embeddings of
its urgent self-harm training posts (~1,900 rows, 2 MB), and triage asks for the nearest
one's cosine only for a post below the review band that the category head gives some
self-harm probability (about one in sixteen of those): the rest cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .features import EMBED_DIM, Featurizer, Floats
from .text import for_model

CATEGORY = "self_harm"   # whose urgent training posts are kept


def unit_rows(features: Featurizer, texts: Sequence[str]) -> Floats:
    """The unit embeddings of these posts, one row each (float32, rows with no words
    dropped: they are near nothing)."""
    rows = [features.features(for_model(t)).embedding for t in texts]
    kept = [r for r in rows if float(r @ r) > 0]
    if not kept:
        return np.zeros((0, EMBED_DIM), np.float32)
    return np.ascontiguousarray(np.vstack(kept), dtype=np.float32)


def nearest(rows: Floats, embedding: Floats, norm: float) -> float:
    """The highest cosine between an embedding (of length `norm`) and the rows."""
    if not len(rows) or norm <= 0:
        return 0.0
    return float((rows @ embedding).max()) / norm
