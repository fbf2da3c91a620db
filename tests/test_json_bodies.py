"""Request bodies parse the same through orjson (the fast path) as through the standard
library (the reference): the same value, or the same refusal with the same words.

Broken variants this was run against: the check for 19-digit runs removed (orjson reads
an integer beyond 64 bits as a float where json keeps the int); the depth check off by one
(a document 65 deep was taken on the fast path)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from server.http.io import dumps, json_default
from server.http.jsonbody import (
    NonFinite,
    NonFiniteNumber,
    find_non_finite,
    find_unencodable,
    loads,
    loads_marking,
    loads_strict,
    marking_strict,
)


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (1 == 1.0 is not enough here)."""
    todo = [(a, b)]   # a stack, not recursion: some documents nest a thousand deep
    while todo:
        x, y = todo.pop()
        if isinstance(x, NonFinite) or isinstance(y, NonFinite):
            if not (isinstance(x, NonFinite) and isinstance(y, NonFinite) and x.raw == y.raw):
                return False
        elif type(x) is not type(y):
            return False
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            todo += [(x[k], y[k]) for k in x]
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            todo += list(zip(x, y, strict=True))
        elif not (x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))):
            return False
    return True


def outcome(parse: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", parse(raw)
    except (NonFiniteNumber, ValueError) as exc:   # JSONDecodeError is a ValueError
        return type(exc).__name__, str(exc)


def check(raw: bytes) -> None:
    kind, value = outcome(loads, raw)
    ref_kind, ref_value = outcome(loads_strict, raw)
    assert kind == ref_kind, (raw[:80], value, ref_value)
    assert same(value, ref_value) if kind == "ok" else value == ref_value
    marked = outcome(loads_marking, raw)
    ref_marked = outcome(marking_strict, raw)
    if marked[0] == "ok":
        clean, found = marked[1]
        assert ref_marked[0] == "ok" and same(found, ref_marked[1]), raw[:80]
        if clean:   # the batch then skips its search for these: nothing may be there
            assert find_non_finite(found) is None and find_unencodable(found) is None
    else:
        assert marked == ref_marked


EDGES = [b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e400}', b'{"a": -1e999}',
         b'{"a": 12345678901234567890}', b'{"a": 123456789012345678901234}',
         b'{"a": -99999999999999999999}', b'{"a": "123456789012345678901234"}',
         b'{"a": 123456789012345678}', b'{"a": 1.00000000000000000001}',
         b'{"a": "\\ud800"}', b'{"a": "\\udc80x"}', b'{"\\ud83d": 1}', b'{"a": "\\ud83d\\ude00"}',
         b'\xef\xbb\xbf{"a": 1}', b'{"a": 1, "a": 2}', b'{"a": -0}', b'{"a": -0.0}',
         b'{"a": 1.0}', b'{"a": 5e-324}', b'{"a": 1.7976931348623157e308}', b'"\xff"',
         b'{"a": "\x01"}', b"", b"[]", b"  {}  ", b"{", b'{"a": tru}', b"0", b"-", b"1 2",
         "[1]".encode("utf-16")]


@pytest.mark.parametrize("raw", EDGES)
def test_edge_documents_parse_as_the_standard_library_does(raw: bytes) -> None:
    check(raw)


@pytest.mark.parametrize("depth", [1, 63, 64, 65, 66, 600, 1100])
@pytest.mark.parametrize("leaf", [b"1", b"", b'{"a": 1}'])
def test_nesting_is_refused_at_the_same_depth(depth: int, leaf: bytes) -> None:
    check(b"[" * depth + leaf + b"]" * depth)
    check(b'{"a": ' * depth + b"1" + b"}" * depth)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(), lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)


@hsettings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([{}, {"ensure_ascii": False}, {"indent": 1}]))
def test_any_json_parses_as_the_standard_library_does(value: Any, style: dict[str, Any]) -> None:
    check(json.dumps(value, **style).encode("utf-8", "surrogatepass"))


@hsettings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(
    ["{!r}", "{:.17g}", "{:.3e}", "{:.20f}", "{:.1f}"]))
def test_numbers_parse_to_the_same_float(number: float, form: str) -> None:
    check(b'{"lat": ' + form.format(number).encode() + b"}")


@hsettings(max_examples=200, deadline=None)
@given(json_values)
def test_responses_encode_to_the_same_json(value: Any) -> None:
    doc = {"value": value, "at": datetime(2026, 11, 30, 12, 0, 1, 250, tzinfo=UTC)}
    assert json.loads(dumps(doc)) == json.loads(json.dumps(doc, default=json_default))


def test_what_orjson_cannot_encode_goes_through_the_standard_library() -> None:
    doc = {"big": 2**70, 3: "a non-string key"}
    assert json.loads(dumps(doc)) == json.loads(json.dumps(doc))
