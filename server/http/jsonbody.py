"""Parsing request bodies: JSON as Python would read it, minus what no store can keep.

Bodies are parsed by orjson (~10x faster than the standard library) whenever that gives
exactly what the standard library gives; anything orjson refuses, or may read differently
(a run of 19 or more digits), is parsed by the standard library, which also says what is
wrong with it. tests/test_json_bodies.py holds the two paths to the same answers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

import orjson


class NonFiniteNumber(ValueError):
    """A body we refuse to store though Python parses it: NaN, Infinity, a number too large
    for a float (not JSON, RFC 8259), a lone surrogate, or absurd nesting."""


def _finite(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise NonFiniteNumber(f"the number {raw[:40]} is too large")
    return value


def _no_constant(name: str) -> Any:
    raise NonFiniteNumber(f"{name} is not a JSON number")


# orjson parses a number of 19 or more digits into a float where the standard library
# keeps an exact int: such a document (rare: a digit run that long, even in a string) is
# parsed by the standard library.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _fast_loads(raw: bytes | str) -> tuple[bool, Any]:
    """(True, the document) when orjson parses it to exactly what the standard library
    would; (False, None) when it must be parsed the slow way. orjson refuses NaN,
    Infinity, overflowing numbers, lone surrogates and invalid UTF-8 itself (those go the
    slow way, which says what is wrong); a document it accepts is at most too deep."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if _LONG_NUMBER.search(data):
        return False, None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False, None
    if isinstance(value, dict | list) and _deeper(value, MAX_DEPTH):
        return False, None
    return True, value


def _deeper(value: dict[str, Any] | list[Any], room: int) -> bool:
    """True if containers nest more than `room` deep (it looks no further down)."""
    if room == 0:
        return True
    for inner in value.values() if isinstance(value, dict) else value:
        if isinstance(inner, dict | list) and _deeper(inner, room - 1):
            return True
    return False


def loads(raw: bytes | str) -> Any:
    """json.loads that refuses NaN and Infinity (Python's parser accepts them), numbers
    that overflow to infinity (a NaN coordinate once stalled every dispatch decision), text
    with lone surrogates (no store can encode them) and absurd nesting."""
    fast, value = _fast_loads(raw)
    return value if fast else loads_strict(raw)


def loads_strict(raw: bytes | str) -> Any:
    """loads by the standard library alone (the reference, and the slow path)."""
    try:
        value = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise NonFiniteNumber("the document is nested too deeply") from None
    where = find_unencodable(value)
    if where is not None:
        raise NonFiniteNumber(f"{where} holds a lone surrogate: not valid Unicode text")
    return value


MAX_DEPTH = 64  # no body of ours nests more than a few levels


def find_unencodable(value: Any, path: str = "", depth: int = 0) -> str | None:
    """The path of the first string (or key) that is not valid UTF-8 text, or None."""
    if depth > MAX_DEPTH:
        raise NonFiniteNumber(f"{path or 'the body'} is nested more than {MAX_DEPTH} deep")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            where = f"{path}.{k}" if path else str(k)
            found = find_unencodable(k, where, depth + 1) or find_unencodable(v, where, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = find_unencodable(v, f"{path}[{i}]", depth + 1)
            if found is not None:
                return found
    return None


class NonFinite:
    """Stands in for a non-finite number in a batch item, so that item alone is refused."""

    def __init__(self, raw: str) -> None:
        self.raw = raw


def loads_marking(raw: bytes | str) -> tuple[bool, Any]:
    """json.loads that replaces NaN, Infinity and overflowing numbers by NonFinite markers
    (see find_non_finite) instead of refusing the whole document. First: True if the
    document holds no such marker, no lone surrogate and no absurd nesting (orjson parsed
    it), so its items need no search for them."""
    fast, value = _fast_loads(raw)
    return (True, value) if fast else (False, marking_strict(raw))


def marking_strict(raw: bytes | str) -> Any:
    """loads_marking by the standard library alone (the reference, and the slow path)."""
    def number(text: str) -> Any:
        value = float(text)
        return value if math.isfinite(value) else NonFinite(text)

    try:
        return json.loads(raw, parse_float=number, parse_constant=NonFinite)
    except RecursionError:
        raise NonFiniteNumber("the document is nested too deeply") from None


def find_non_finite(value: Any, path: str = "") -> str | None:
    """The path of the first NonFinite marker in a parsed document, or None."""
    if isinstance(value, NonFinite):
        return path or "body"
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = ((f"{path}.{k}" if path else str(k), v)
                                             for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, inner in items:
        found = find_non_finite(inner, where)
        if found is not None:
            return found
    return None
