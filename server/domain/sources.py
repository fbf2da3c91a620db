"""Source names as keys: the same connector must never store a post twice."""

from __future__ import annotations

import unicodedata


def normalise_source(raw: str) -> str:
    """NFKC, invisible format characters (zero-width space, joiners, BOM) removed, trimmed
    and case-folded: "X", " x" and "x\\u200b" name one source, so they de-duplicate."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.strip().casefold()
