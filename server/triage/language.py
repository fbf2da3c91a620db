"""Which language a post is in, when the connector did not say.

The model reads English. A post it cannot read must reach a person (the review band), so a
wrong "not English" costs a control-room look and a wrong "English" can cost a life: the
detector says "not English" only when a language identifier (py3langid, whose model ships
in its wheel) is confident and most of the post's words are ones the model never saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from functools import cache
from typing import Any

from .text import for_model, words

MIN_LETTERS = 12      # shorter than this ("sos", "HELP!!") is not worth a guess
KNOWN_ENOUGH = 0.8    # this share of common English words: English, no guess
ALL_KNOWN = 0.95      # ... or this share of words the model knows at all
CONFIDENT = 0.9       # the identifier's probability needed to call it another language
_OTHER_SCRIPT = re.compile("[^\u0000-\u024f]+")   # beyond Latin and its extensions


def detect(text: str, known: Collection[str], reads: Collection[str] = ("en",),
           identify: Callable[[str], tuple[str, float]] | None = None,
           tokens: Sequence[str] | None = None, vocab: Collection[str] = ()) -> str:
    """The ISO 639-1 code of the post's language; the first of `reads` when unsure.
    `known`: common words of the language the model reads; `vocab`: every word it knows
    (asking the identifier costs more than the rest of triage, so it is asked only when
    neither says enough). `tokens`: the post's words(for_model(text)), if the caller has
    them already."""
    default = next(iter(reads), "en")
    alpha = [w for w in (words(for_model(text)) if tokens is None else tokens) if w.isalpha()]
    letters = sum(map(len, alpha))   # map: a generator costs twice as much a word
    if letters < MIN_LETTERS:
        return default
    if sum(map(known.__contains__, alpha)) >= KNOWN_ENOUGH * len(alpha):
        return default
    if vocab and sum(map(vocab.__contains__, alpha)) >= ALL_KNOWN * len(alpha):
        return default
    lang, p = (identify or _identify)(text)
    if lang in reads:
        # An identifier that says English about a post in another script is wrong.
        return "und" if _mostly_other_script(alpha, letters) else lang
    if p >= CONFIDENT or _mostly_other_script(alpha, letters):
        return lang
    return default


def _mostly_other_script(alpha: list[str], letters: int) -> bool:
    """True if most letters are outside the Latin alphabet (Arabic, Cyrillic, Bengali...)."""
    joined = "".join(alpha)
    if joined.isascii():   # most posts: no need to look at each letter
        return False
    other = sum(map(len, _OTHER_SCRIPT.findall(joined)))
    return other > letters / 2


def load_identifier() -> None:
    """Load the identifier's model now (about 0.5 s) rather than for the first post that
    needs it. Not at a server's start: it takes 80 MB, which a server whose posts are all
    plainly English never needs."""
    _identifier()


def _identify(text: str) -> tuple[str, float]:
    lang, p = _identifier().classify(text)
    return str(lang), float(p)


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # only when needed

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
