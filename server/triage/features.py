"""Features of a post: TF-IDF word and character n-grams, and a sentence embedding.

The n-grams catch the exact phrasing people use ("cant breathe", "hes got a knife"); the
embedding (WordLlama's 256-d token vectors, shipped inside its wheel) carries the meaning to
words the corpus never used ("my grandad's gone grey and won't wake"). Both work word by
word, so what a word contributes is computed once and cached: triage stays well under a
millisecond a post on one core. No scikit-learn at inference.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .text import words

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int32]
EMBED_DIM = 256
CHAR_N = (3, 5)        # character n-grams within each word, padded with a space each side
CACHE_WORDS = 200_000  # bound on the per-word cache (cleared when full)
_NO_INTS: Ints = np.zeros(0, np.int32)
_NO_FLOATS: Floats = np.zeros(0, np.float32)
# 1 + log(tf), the sublinear term frequency, looked up for the tf's of a post with fewer
# than SUBLINEAR grams: numpy's log works element by element, so these are the very values
# computing them gives, in each width a block is worked in (float32 words, float64 chars).
SUBLINEAR = 1024
SUBLINEAR32: Floats = 1.0 + np.log(np.arange(SUBLINEAR, dtype=np.float32).clip(1))
SUBLINEAR64: npt.NDArray[np.float64] = 1.0 + np.log(np.arange(SUBLINEAR).clip(1))


def word_grams(tokens: Sequence[str]) -> list[str]:
    """Unigrams and bigrams of a token list."""
    return [*tokens, *[f"{a} {b}" for a, b in itertools.pairwise(tokens)]]


def char_grams(token: str) -> list[str]:
    """Character n-grams of one word, padded: " cant " -> " ca", "can", ..."""
    padded = f" {token} "
    return [padded[i:i + n] for n in range(CHAR_N[0], CHAR_N[1] + 1)
            for i in range(len(padded) - n + 1)]


class NgramSpace:
    """A vocabulary with inverse document frequencies: sublinear TF-IDF, L2-normalised."""

    def __init__(self, vocab: Sequence[str] = (), idf: Floats | None = None) -> None:
        self.terms = list(vocab)
        # dict(zip(...)) builds the index in half the time of a comprehension.
        self.index = dict(zip(self.terms, range(len(self.terms)), strict=True))
        self.idf: Floats = idf if idf is not None else _NO_FLOATS
        self.rarest = float(self.idf.max()) if len(self.idf) else 0.0   # the largest idf

    def __len__(self) -> int:
        return len(self.terms)

    def fit(self, docs: Iterable[Iterable[str]], min_df: int) -> NgramSpace:
        """Learn the vocabulary (terms in >= min_df documents, sorted) and the idf."""
        df: Counter[str] = Counter()
        n_docs = 0
        for grams in docs:
            df.update(set(grams))
            n_docs += 1
        self.terms = sorted(t for t, c in df.items() if c >= min_df)
        # dict(zip(...)) builds the index in half the time of a comprehension.
        self.index = dict(zip(self.terms, range(len(self.terms)), strict=True))
        self.idf = np.array([math.log((1 + n_docs) / (1 + df[t])) + 1 for t in self.terms],
                            dtype=np.float32)
        self.rarest = float(self.idf.max()) if len(self.idf) else 0.0
        return self

    def lookup(self, grams: Iterable[str]) -> tuple[int, ...]:
        """The indices of the known grams (repeats kept)."""
        get = self.index.get
        return tuple([i for g in grams if (i := get(g)) is not None])

    def weigh(self, counts: Counter[int]) -> tuple[Ints, Floats]:
        """(indices, L2-normalised sublinear TF-IDF values) from index counts."""
        if not counts:
            return _NO_INTS, _NO_FLOATS
        idx = np.fromiter(counts.keys(), np.int32, len(counts))
        tf = np.fromiter(counts.values(), np.float32, len(counts))
        vals = (1.0 + np.log(tf)) * self.idf[idx]
        return idx, (vals / math.sqrt(float(vals @ vals))).astype(np.float32)

    def weigh_grams(self, grams: Sequence[int]) -> tuple[Ints, Floats]:
        """weigh(Counter(grams)): the same arrays, in fewer numpy calls (the tf's log only
        when some gram repeats: (1 + log 1) * idf is exactly idf)."""
        first = dict.fromkeys(grams)   # the order Counter keeps
        if not first:
            return _NO_INTS, _NO_FLOATS
        idx = np.fromiter(first, np.int32, len(first))
        vals = self.idf.take(idx)
        if len(first) < len(grams):
            tf = np.fromiter(Counter(grams).values(), np.intp, len(first))
            vals = (SUBLINEAR32.take(tf) if len(grams) < SUBLINEAR
                    else (1.0 + np.log(tf.astype(np.float32))).astype(np.float32)) * vals
        return idx, vals / math.sqrt(float(vals @ vals))


@dataclass(frozen=True)
class Features:
    """One post's features: two sparse blocks and a dense unit vector."""

    word_idx: Ints
    word_val: Floats
    char_idx: Ints
    char_val: Floats
    embedding: Floats


@dataclass(frozen=True)
class WordFeatures:
    """What one word brings, the same in every post: its known character n-grams (indices,
    repeats kept) and the sum of its token embeddings, times the word's weight."""

    char_grams: tuple[int, ...]
    embedding: Floats


class Featurizer:
    """Turns for_model texts into Features; fit learns the two vocabularies.

    The character block is sublinear TF-IDF over the whole post (measured better than
    per-word vectors); the embedding is the normalised sum of the words' token vectors, so
    what each word adds to it is computed once and cached (triage keeps it, and its dot
    products with the heads, in rows.WordRows), which keeps triage fast."""

    def __init__(self, word: NgramSpace | None = None, char: NgramSpace | None = None,
                 embedder: Embedder | None = None, idf_weighted: bool = True) -> None:
        self.word = word or NgramSpace()
        self.char = char or NgramSpace()
        self._embedder = embedder
        # The server loads WordLlama in a worker thread after start-up; a post triaged on
        # the loop meanwhile waits for that load rather than making a second one.
        self._embedder_lock = threading.Lock()
        self.idf_weighted = idf_weighted
        self._cache: dict[str, WordFeatures] = {}

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = Embedder()
        return self._embedder

    def fit(self, model_texts: Sequence[str], word_min_df: int = 2,
            char_min_df: int = 3) -> Featurizer:
        """Learn both vocabularies from training texts."""
        tokenised = [words(t) for t in model_texts]
        self.word.fit((word_grams(toks) for toks in tokenised), word_min_df)
        self.char.fit(([g for tok in toks for g in char_grams(tok)] for toks in tokenised),
                      char_min_df)
        self._cache.clear()
        return self

    def word_weights(self, tokens: Sequence[str],
                     columns: Sequence[int] | None = None) -> Floats:
        """How much each word counts in the post's embedding: its idf, so that "i", "the"
        and "gonna" stop setting the direction of every post (a word the corpus never saw
        counts as much as its rarest words). `columns`: the words' word-block columns (-1
        for none), if the caller has them already."""
        if not self.idf_weighted or not len(self.word):
            return np.ones(len(tokens), np.float32)
        idf, rarest = self.word.idf, self.word.rarest
        if columns is None:
            get = self.word.index.get
            columns = [-1 if (i := get(t)) is None else i for t in tokens]
        return np.array([idf[i] if i >= 0 else rarest for i in columns], np.float32)

    def embeddings(self, tokens: Sequence[str],
                   columns: Sequence[int] | None = None) -> Floats:
        """Each word's token-vector sum times its weight, one row a word (not cached)."""
        return self.embedder.token_sums(tokens) * self.word_weights(tokens, columns)[:, None]

    def word_features(self, token: str) -> WordFeatures:
        """One word's features, cached."""
        hit = self._cache.get(token)
        if hit is None:
            if len(self._cache) >= CACHE_WORDS:
                self._cache.clear()
            hit = self._cache[token] = WordFeatures(self.char.lookup(char_grams(token)),
                                                    self.embeddings([token])[0])
        return hit

    def word_block(self, tokens: Sequence[str]) -> tuple[Ints, Floats]:
        """The word uni- and bigram TF-IDF vector of a tokenised post."""
        return self.word.weigh_grams(self.word.lookup(word_grams(tokens)))

    def char_block(self, per_word: Sequence[WordFeatures]) -> tuple[Ints, Floats]:
        """The character n-gram TF-IDF vector of a post, from its words' n-grams."""
        counts: Counter[int] = Counter()
        for wf in per_word:
            counts.update(wf.char_grams)
        return self.char.weigh(counts)

    def features(self, model_text: str) -> Features:
        """The features of one for_model text (training and evaluation use this)."""
        tokens = words(model_text)
        per_word = [self.word_features(t) for t in tokens]
        wi, wv = self.word_block(tokens)
        ci, cv = self.char_block(per_word)
        emb = np.sum([wf.embedding for wf in per_word], axis=0) if per_word else np.zeros(
            EMBED_DIM)
        norm = float(np.linalg.norm(emb))
        unit = (emb / norm if norm > 0 else emb).astype(np.float32)
        return Features(wi, wv, ci, cv, unit)


class Embedder:
    """WordLlama's token embeddings, summed per word (the mean is taken by the norm)."""

    def __init__(self) -> None:
        # float16, as shipped: half the memory of the float32 copy WordLlama's loader makes,
        # and each row is widened exactly when used, so the sums are the same to the bit.
        self._table, tokenizer = _wordllama()
        # The BPE model's own tokenize, given the text as the tokenizer's normaliser would
        # leave it ("▁" before it, spaces made "▁"; a word has none): the same ids
        # as encode, in a third of the time (encode builds offsets, masks and the special
        # tokens' matches, which a single word has no use for). A new word's cost is most
        # of a cold post's; tests/test_triage_speed_equivalence.py checks the two agree.
        self._tokenize = tokenizer.model.tokenize

    def token_ids(self, word: str) -> list[int]:
        """WordLlama's token ids of one word (no spaces), as encode would give them."""
        return [t.id for t in self._tokenize(WORD_START + word)]

    def token_sums(self, words: Sequence[str]) -> Floats:
        """Each word's token-vector sum, one row a word (zeros for a word with none)."""
        token_ids, table = self.token_ids, self._table
        sums = np.zeros((len(words), EMBED_DIM), np.float32)
        for k, word in enumerate(words):
            ids = token_ids(word)
            if ids:
                np.add.reduce(table.take(ids, axis=0).astype(np.float32), axis=0,
                              out=sums[k])
        return sums


WORD_START = "\u2581"   # what WordLlama's normaliser puts before a text
WORDLLAMA_WEIGHTS = "weights/l2_supercat_256.safetensors"
WORDLLAMA_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"


@cache
def _wordllama() -> tuple[npt.NDArray[np.float16], Any]:
    """WordLlama's shipped embedding table and tokenizer, read from its wheel's own files
    once per process and never downloaded. Read directly rather than through
    `WordLlama.load`: that imports the whole package (requests, its algorithms) and keeps a
    float32 copy of the table, 35 MB more than these two files need."""
    import importlib.util

    from safetensors import safe_open  # imported here: only triage needs them
    from tokenizers import Tokenizer

    spec = importlib.util.find_spec("wordllama")   # its folder; its code is not imported
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the wordllama package is not installed")
    root = Path(spec.origin).parent
    with safe_open(str(root / WORDLLAMA_WEIGHTS), framework="np", device="cpu") as f:
        table = np.ascontiguousarray(f.get_tensor("embedding.weight"))
    if table.dtype != np.float16 or table.ndim != 2 or table.shape[1] != EMBED_DIM:
        raise ValueError(f"{WORDLLAMA_WEIGHTS}: {table.dtype} {table.shape}, expected "
                         f"float16 (n, {EMBED_DIM})")
    tokenizer = Tokenizer.from_file(str(root / WORDLLAMA_TOKENIZER))
    tokenizer.no_truncation()   # as WordLlama sets it: a word is never cut
    # Embedder tokenizes a word with the BPE model alone, as this normaliser leaves it.
    normaliser = tokenizer.normalizer
    if (normaliser is None or normaliser.normalize_str("a b") != f"{WORD_START}a{WORD_START}b"
            or tokenizer.pre_tokenizer is not None):
        raise ValueError(f"{WORDLLAMA_TOKENIZER}: not the normaliser Embedder expects")
    if tokenizer.get_vocab_size() > len(table):   # every id must have its row
        raise ValueError(f"{WORDLLAMA_TOKENIZER}: {tokenizer.get_vocab_size()} tokens for "
                         f"{len(table)} rows")
    return table, tokenizer
