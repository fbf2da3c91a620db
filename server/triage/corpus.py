"""The labelled corpus: reading it, checking it, and splitting it the same way every time.

A post's split is a function of its normalised text alone, so a post never moves between the
training and held-out splits when files are added, reordered or re-written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..domain.records import Category
from ..domain.rulebook import normalise

# One post in HOLDOUT_EVERY is held out: training never reads it.
HOLDOUT_EVERY = 5
KINDS_URGENT = frozenset({"first_hand", "second_hand", "silent", "rescue", "with_address",
                          "indirect"})
KINDS_CALM = frozenset({
    "news", "distant", "past", "fiction", "metaphor", "joke", "advert", "lost_pet",
    "service_question", "non_urgent_report", "chatter", "awareness", "hypothetical",
    "resolved", "offtopic", "ontopic", "disaster_news", "feedback", "lyrics"})
CATEGORIES = frozenset(c.value for c in Category)


class CorpusError(ValueError):
    """A corpus line is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    """One labelled post."""

    text: str
    urgent: bool
    category: str
    kind: str = ""
    lang: str = "en"
    origin: str = ""
    # Teaches the category head only (what kind of post it is), not whether it is urgent:
    # see corpus/README.md for the posts marked so, and why.
    category_only: bool = False

    @property
    def key(self) -> str:
        """The normalised text: what duplicates and the split are judged by."""
        return normalise(self.text)

    @property
    def held_out(self) -> bool:
        """True for the split that training never reads."""
        digest = hashlib.sha256(self.key.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % HOLDOUT_EVERY == 0


# Labels an evaluation file may use instead of `urgent: true/false`.
_YES = {"urgent", "emergency", "alert", "true", "yes", "1", "positive"}
_NO = {"calm", "not_urgent", "non_urgent", "not_an_emergency", "false", "no", "0", "negative"}


def _label(doc: dict[str, Any]) -> bool | None:
    for key in ("urgent", "label", "emergency"):
        value = doc.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | str) and str(value).strip().lower() in _YES | _NO:
            return str(value).strip().lower() in _YES
    return None


def parse_line(raw: str, where: str, strict: bool = True) -> Example:
    """One JSON line as an Example; CorpusError naming `where` if it is not one. Not
    `strict` (files to evaluate, labelled elsewhere): any category and kind, and `label`
    ("urgent" / "calm", 1 / 0) instead of `urgent`."""
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(doc, dict):
        raise CorpusError(f"{where}: a line must be an object")
    text, category = doc.get("text"), str(doc.get("category") or "other")
    urgent = doc.get("urgent") if strict else _label(doc)
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{where}: text must be a non-empty string")
    if not isinstance(urgent, bool):
        raise CorpusError(f"{where}: urgent must be true or false")
    kind = str(doc.get("kind") or "")
    if strict and category not in CATEGORIES:
        raise CorpusError(f"{where}: unknown category {category!r}")
    if strict and kind and kind not in (KINDS_URGENT if urgent else KINDS_CALM):
        raise CorpusError(f"{where}: kind {kind!r} does not fit urgent={urgent}")
    lang = doc.get("lang") or "en"
    category_only = doc.get("category_only", False)
    if not isinstance(category_only, bool):
        raise CorpusError(f"{where}: category_only must be true or false")
    return Example(text=text, urgent=urgent, category=category, kind=kind, lang=str(lang),
                   origin=str(doc.get("origin", "")), category_only=category_only)


def read_jsonl(path: Path, strict: bool = True) -> Iterator[Example]:
    """Every example in one JSONL file (blank lines skipped); see parse_line."""
    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            if raw.strip():
                yield parse_line(raw, f"{path}:{n}", strict)


def corpus_files(root: Path) -> list[Path]:
    """The corpus's JSONL files, in a fixed order."""
    return sorted((root / "written").glob("*.jsonl"))


def load(paths: Iterable[Path]) -> list[Example]:
    """Examples from several files, first occurrence of each normalised text kept."""
    seen: set[str] = set()
    out: list[Example] = []
    for path in paths:
        for ex in read_jsonl(path):
            if ex.key not in seen:
                seen.add(ex.key)
                out.append(ex)
    return out


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(training, held-out): see Example.held_out."""
    train: list[Example] = []
    held: list[Example] = []
    for ex in examples:
        (held if ex.held_out else train).append(ex)
    return train, held


def to_line(ex: Example) -> str:
    """One example as a corpus line."""
    doc = {"text": ex.text, "urgent": ex.urgent, "category": ex.category, "kind": ex.kind,
           "lang": ex.lang}
    if ex.origin:
        doc["origin"] = ex.origin
    if ex.category_only:
        doc["category_only"] = True
    return json.dumps(doc, ensure_ascii=False)
