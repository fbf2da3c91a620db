"""The words a model has met, as rows of arrays: what triage looks a post's words up in.

Objects per word (a dataclass and a few small arrays each) made a post cost more in Python
and numpy overheads than in arithmetic; rows of one array make it a dict look-up a word and
one numpy gather. Each value is made by the same numpy calls, in the same order, as when
each word had its objects, so scores do not move in their last bit (and `triage train`,
which scores out-of-fold posts to calibrate its thresholds, writes the same model).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from .features import CACHE_WORDS, EMBED_DIM, Featurizer, Floats, Ints, char_grams


class WordRows:
    """Every word met so far, one row each, and made the first time a post has it:

      dense[r]    the word's weighted embedding sum, then that sum times the heads (its
                  urgency and category logits before the post's normalisation)
      chars[r]    the feature columns of its known character n-grams, repeats kept
      unigram[r]  its word-block column, or -1

    A post's new words are made together. Rows are bounded by CACHE_WORDS (cleared when
    full), as Featurizer's word cache is."""

    def __init__(self, features: Featurizer, heads: Floats) -> None:
        self._features, self._heads = features, heads
        self.row: dict[str, int] = {}
        self.filled = 0   # how many of the commonest words were made ahead (model.py)
        self.chars: list[Ints] = []
        self.unigram: list[int] = []
        # Room for every row up to the bound, made at once: np.zeros asks the system for
        # pages it hands over zeroed when first written, so a row costs memory only once
        # made (1 KB), and the array never grows. (Growing it by doubling copied every row
        # made so far, and the peak held both arrays: 9 MB more at the warm-up's end.)
        self.dense: Floats = np.zeros((CACHE_WORDS, EMBED_DIM + heads.shape[1]), np.float32)
        # The char block's idf by feature column (zero for the word block's), as float64,
        # the type its values are worked in: no shifting of columns, no casting, per post.
        self._offset = len(features.word)
        self.char_idf = np.concatenate([np.zeros(self._offset), features.char.idf])

    def forget(self) -> None:
        """Drop every row (a cold start)."""
        self.row, self.chars, self.unigram = {}, [], []
        self.filled = 0

    def rows(self, tokens: Sequence[str]) -> list[int]:
        """The tokens' rows, making those of new words first."""
        get = self.row.get
        found = [get(t, -1) for t in tokens]
        if -1 in found:
            self.add(tokens)
            found = [self.row[t] for t in tokens]
        return found

    def add(self, tokens: Sequence[str]) -> None:
        """Make the rows of these words (those not made yet). A cold post's cost is mostly
        here, for one or two words a call: hence the plain loops and no repeated look-ups."""
        row = self.row
        new = [t for t in dict.fromkeys(tokens) if t not in row]
        if not new:
            return
        if len(row) + len(new) > CACHE_WORDS:
            self.forget()
            row, new = self.row, list(dict.fromkeys(tokens))
        start, end = len(self.chars), len(self.chars) + len(new)
        dense = self.dense
        if end > len(dense):   # only a post with more new words than the bound
            dense = self.dense = np.concatenate(
                [dense, np.zeros((end - len(dense), dense.shape[1]), np.float32)])
        features = self._features
        unigram = [features.word.index.get(t, -1) for t in new]
        dense[start:end, :EMBED_DIM] = features.embeddings(new, unigram)
        heads = self._heads
        for r in range(start, end):
            # Word by word: a matrix product would add in another order than the vector
            # products the scores were computed with, and they must not move a bit.
            np.matmul(dense[r, :EMBED_DIM], heads, out=dense[r, EMBED_DIM:])
        get, offset, chars = features.char.index.get, self._offset, self.chars
        for r, t in enumerate(new, start):
            row[t] = r
            chars.append(np.array(
                [i + offset for g in char_grams(t) if (i := get(g)) is not None], np.int32))
        self.unigram += unigram

    def word_block(self, tokens: Sequence[str], rows: Sequence[int]) -> tuple[Ints, Floats]:
        """Featurizer.word_block(tokens), the unigrams found by row."""
        space, unigram = self._features.word, self.unigram
        grams = [c for r in rows if (c := unigram[r]) >= 0]   # unigrams, then bigrams
        grams += space.lookup([f"{a} {b}" for a, b in itertools.pairwise(tokens)])
        return space.weigh_grams(grams)
