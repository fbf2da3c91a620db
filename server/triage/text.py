"""Text as the model sees it: normalised (as the rules see it), links, mentions and digits
made generic, split into words."""

from __future__ import annotations

import re

from ..domain.rulebook import normalise

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_DIGIT = re.compile(r"\d")
# Words: letters with inner apostrophes, digits runs, or a single emoji / symbol.
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[^\w\s]", re.UNICODE)


def for_model(text: str) -> str:
    """The normalised text with links, mentions and digits made generic, so the model
    learns "an address" and "a link", not one street number or one account."""
    clean = normalise(text)
    # Most posts have no link or mention: the substring tests cost a tenth of the scans,
    # and without a substitution the text is still normalised (no spaces to collapse).
    spaced = "http" in clean or "www." in clean
    if spaced:
        clean = _URL.sub(" httpurl ", clean)
    if "@" in clean:
        clean = _MENTION.sub(" @user ", clean)
        spaced = True
    clean = _DIGIT.sub("0", clean)
    return " ".join(clean.split()) if spaced else clean


def words(model_text: str) -> list[str]:
    """The word tokens of a for_model text (punctuation and emoji are tokens too)."""
    # _WORD.findall on each space-separated chunk: no token holds a space, and a chunk of
    # letters only (most are) is one token as it stands, with no regex to run.
    out: list[str] = []
    for chunk in model_text.split():
        if chunk.isalpha():
            out.append(chunk)
        else:
            out += _WORD.findall(chunk)
    return out
