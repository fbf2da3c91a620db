"""Text as the model sees it: normalised (as the rules see it), links, mentions and digits
made generic, split into words."""

from __future__ import annotations

import re

from ..domain.triage import normalise

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_DIGIT = re.compile(r"\d")
# Words: letters with inner apostrophes, digits runs, or a single emoji / symbol.
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[^\w\s]", re.UNICODE)


def for_model(text: str) -> str:
    """The normalised text with links, mentions and digits made generic, so the model
    learns "an address" and "a link", not one street number or one account."""
    clean = _URL.sub(" httpurl ", normalise(text))
    clean = _MENTION.sub(" @user ", clean)
    return " ".join(_DIGIT.sub("0", clean).split())


def words(model_text: str) -> list[str]:
    """The word tokens of a for_model text (punctuation and emoji are tokens too)."""
    return _WORD.findall(model_text)
