"""Which language a post is in, when the connector did not say.

The model reads English. A post it cannot read must reach a person (the review band), so a
wrong "not English" costs a control-room look and a wrong "English" can cost a life. Most
posts are settled by their words: English enough, or words the model knows. The rest ask a
language identifier (py3langid, whose model ships in its wheel), and a post it is unsure
about is English only if English is among its guesses or most of its words are known: a
Croatian or Maori post the identifier cannot name surely is still not English.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from functools import cache
from typing import Any

from .text import for_model, words

MIN_LETTERS = 12      # shorter than this ("sos", "HELP!!") is not worth a guess
KNOWN_ENOUGH = 0.5    # this share of common English words: English, no guess
ALL_KNOWN = 0.95      # ... or this share of words the model knows at all
CONFIDENT = 0.9       # the identifier's probability that names another language outright
PLAUSIBLE = 0.01      # below it, the identifier has ruled English out ...
MOSTLY_KNOWN = 0.6    # ... and with fewer of the words known than this, it is not English
UNSURE = "und"        # ISO 639's "undetermined"
# (Measured on lingua-py's test sentences, 300 in each of 74 other languages: with 0.8 and
# "English unless the identifier is confident", 22% of them were read as English, among them
# nearly all Croatian, Bosnian, Malay and Indonesian; now 0.9%: `python -m bench.languages`.)

Ranked = Sequence[tuple[str, float]]   # an identifier's languages, likeliest first
_OTHER_SCRIPT = re.compile("[^\u0000-\u024f]+")   # beyond Latin and its extensions


def detect(text: str, known: Collection[str], reads: Collection[str] = ("en",),
           identify: Callable[[str], Ranked] | None = None,
           tokens: Sequence[str] | None = None, vocab: Collection[str] = ()) -> str:
    """The ISO 639-1 code of the post's language (the first of `reads` when it may be
    that one; "und" when nothing can be read). `known`: common words of the language the
    model reads; `vocab`: every word it knows (asking the identifier costs more than the
    rest of triage, so it is asked only when neither says enough); `identify`: a ranking
    other than py3langid's. `tokens`: the post's words(for_model(text)), if the caller has
    them already."""
    default = next(iter(reads), "en")
    alpha = [w for w in (words(for_model(text)) if tokens is None else tokens) if w.isalpha()]
    letters = sum(map(len, alpha))   # map: a generator costs twice as much a word
    if letters < MIN_LETTERS:
        # Too short to guess; but one whose every word the model has never met ("ratunku!",
        # "ajutor!": help, in Polish and Romanian) cannot be read either: a person looks.
        if vocab and alpha and not any(map(vocab.__contains__, alpha)):
            return UNSURE
        return default
    if sum(map(known.__contains__, alpha)) >= KNOWN_ENOUGH * len(alpha):
        return default
    in_vocab = sum(map(vocab.__contains__, alpha)) if vocab else 0
    if vocab and in_vocab >= ALL_KNOWN * len(alpha):
        return default
    ranked = identify(text) if identify else _identify(text, reads)
    lang, p = ranked[0]
    if lang in reads:
        # An identifier that says English about a post in another script is wrong.
        return UNSURE if _mostly_other_script(alpha, letters) else lang
    if p >= CONFIDENT or _mostly_other_script(alpha, letters):
        return lang
    # Unsure which language it is: English only if the identifier leaves room for it or
    # the model knows most of the words (English with names and slang in it).
    readable = max((q for code, q in ranked if code in reads), default=0.0)
    if readable >= PLAUSIBLE or (vocab and in_vocab >= MOSTLY_KNOWN * len(alpha)):
        return default
    return lang


def _mostly_other_script(alpha: list[str], letters: int) -> bool:
    """True if most letters are outside the Latin alphabet (Arabic, Cyrillic, Bengali...)."""
    joined = "".join(alpha)
    if joined.isascii():   # most posts: no need to look at each letter
        return False
    other = sum(map(len, _OTHER_SCRIPT.findall(joined)))
    return other > letters / 2


def load_identifier() -> None:
    """Load the identifier's model now (about 0.6 s, ~70 MB) rather than for the first post
    that needs it: the server's warm-up does, in a worker thread (Triager.warm)."""
    _identifier()


def _identify(text: str, reads: Collection[str] = ("en",)) -> Ranked:
    """The identifier's likeliest language, then the languages the model reads: all that
    detect looks at of py3langid's `rank`, the same values, without its sorting of 97
    languages (which cost as much as the walk over the text)."""
    identifier = _identifier()
    scores = identifier._decide(text)   # probabilities by column, aliases merged as rank's
    best = int(scores.argmax())         # the first of equals, as rank's stable sort
    first = _first_columns()
    return [(identifier.nb_classes[best], float(scores[best])),
            *[(code, float(scores[first[code]])) for code in reads if code in first]]


@cache
def _first_columns() -> dict[str, int]:
    """Each language's first column: the one rank reads (an alias's is merged into it)."""
    first: dict[str, int] = {}
    for i, code in enumerate(_identifier().nb_classes):
        first.setdefault(code, i)
    return first


@cache
def _identifier() -> Any:
    """py3langid's identifier, its model loaded without the copies its own loader makes.

    Its loader turns the automaton's 39 MB transition table into a stdlib array (a copy,
    with the numpy array alive meanwhile) and two 100,000-entry tables into lists of Python
    ints: 83 MB kept and 114 MB at the peak. The walk only indexes them, and a memoryview
    of the arrays as read answers the same ints (a little faster, even): 68 MB kept, and
    the server's peak 270 MB instead of 303 (`python -m bench --only memory`). The same
    ranking to the bit (tests/test_triage.py compares the two)."""
    import lzma
    import shutil
    import tempfile

    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    # As py3langid's own loader does: the npz inside the xz, through a file on disk.
    with tempfile.TemporaryFile(suffix=".npz") as unpacked:
        with lzma.open(MODEL_DIR / MODEL_FILE) as packed:
            shutil.copyfileobj(packed, unpacked, length=1 << 20)
        unpacked.seek(0)
        with np.load(unpacked, allow_pickle=False) as data:
            ptc, pc, classes = data["ptc"], data["pc"], data["classes"].tolist()
            nextmove, row, output = data["nextmove"], data["nextmove_row"], data["out_feat"]
    identifier = LanguageIdentifier(ptc, pc, classes, memoryview(nextmove),
                                    memoryview(output), norm_probs=True, tk_row=())
    # Its walk reads each state's row start from _rowbase (row << 8), which it would make
    # a list of ints from tk_row: made here, as an array.
    identifier.tk_row = row
    identifier._rowbase = memoryview(row.astype(np.uint32) << 8)
    return identifier
