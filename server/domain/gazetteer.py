"""Locating a post by text: neighbourhood names and places, longest match wins."""

from __future__ import annotations

import re
from collections.abc import Iterable

_NON_WORD = re.compile(r"[^\w]+")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
MAX_PHRASE_WORDS = 8


def tokens(text: str) -> list[str]:
    """Lower-case words, possessives and punctuation dropped ("St. James's" -> st, james)."""
    plain = _POSSESSIVE.sub("", text.lower()).replace("'", "").replace("\u2019", "")
    return [t for t in _NON_WORD.split(plain) if t]


class Gazetteer:
    """Phrase -> neighbourhood id; a phrase that names two neighbourhoods is ambiguous."""

    def __init__(self, entries: Iterable[tuple[str, Iterable[str]]]) -> None:
        owners: dict[tuple[str, ...], set[str]] = {}
        for nid, phrases in entries:
            for phrase in phrases:
                key = tuple(tokens(phrase))
                if key and len(key) <= MAX_PHRASE_WORDS:
                    owners.setdefault(key, set()).add(nid)
        # Ambiguous phrases ("High Street") would misroute alerts: better unlocated.
        self._phrases = {k: next(iter(v)) for k, v in owners.items() if len(v) == 1}
        self._longest = max((len(k) for k in self._phrases), default=0)

    def __len__(self) -> int:
        return len(self._phrases)

    def match(self, text: str) -> tuple[str, str] | None:
        """(neighbourhood id, matched phrase) of the longest phrase in the text, or None."""
        words = tokens(text)
        best: tuple[int, str, str] | None = None
        for start in range(len(words)):
            for length in range(min(self._longest, len(words) - start), 0, -1):
                if best is not None and length <= best[0]:
                    break
                key = tuple(words[start:start + length])
                nid = self._phrases.get(key)
                if nid is not None:
                    best = (length, nid, " ".join(key))
                    break
        return None if best is None else (best[1], best[2])
