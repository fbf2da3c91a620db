"""The compiled request validators (fastjsonschema, generated from openapi.yaml) say what
jsonschema, the reference, says about every request body: for each operation that takes
JSON, valid bodies built from its schema and hypothesis's mutations of them (wrong types,
values at and past each limit, missing and extra fields, bad times) get the same verdict
from both, and RequestValidator refuses exactly what jsonschema refuses.

Broken variants this was run against: the date-time format left to fastjsonschema's own
(it took "2026-01-01T00:00:00" without an offset); `use_default` on (it wrote defaults into
the body it checked)."""

from __future__ import annotations

import copy
from typing import Any

import fastjsonschema
import jsonschema
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from server.domain.errors import ValidationFailed
from server.http.openapi import (
    RequestValidator,
    compile_fast,
    is_datetime,
    load_spec,
    pointer,
    request_schemas,
    spec_registry,
)

SPEC = load_spec()
OPERATIONS = sorted(request_schemas(SPEC).items())
REGISTRY = spec_registry(SPEC)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = SPEC
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def example(schema: dict[str, Any]) -> Any:
    """A valid instance of the schema, with every property it declares."""
    schema = resolve(schema)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "oneOf" in schema:
        return example(schema["oneOf"][-1])
    kind = schema.get("type", "object")
    kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
    if kind == "object":
        return {name: example(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema.get("items", {"type": "string"}))
                for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2026-11-30T12:00:00+00:00"
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("number", "integer"):
        low, high = schema.get("minimum", 0), schema.get("maximum", 100)
        return (low + high) // 2 if kind == "integer" else (low + high) / 2
    return True


def reference(key: tuple[str, str], body: Any) -> bool:
    parts = request_schemas(SPEC)[key]
    validator = jsonschema.Draft202012Validator(
        {"$ref": pointer(*parts)}, registry=REGISTRY,
        format_checker=RequestValidator(SPEC)._reference(key, parts).format_checker)
    return not any(True for _ in validator.iter_errors(body))


FAST = {key: compile_fast(SPEC, parts) for key, parts in OPERATIONS}


def compiled(key: tuple[str, str], body: Any) -> bool:
    try:
        FAST[key](body)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@pytest.mark.parametrize("key", [k for k, _ in OPERATIONS], ids=" ".join)
def test_each_schema_s_example_is_valid_for_both(key: tuple[str, str]) -> None:
    body = example({"$ref": "#/" + "/".join(
        p.replace("~", "~0").replace("/", "~1") for p in request_schemas(SPEC)[key])})
    assert reference(key, body) and compiled(key, body), body


ODD = st.builds(copy.deepcopy, st.sampled_from([
    None, True, False, 0, 1, -1, 1.0, 0.5, -0.0, 89.9999, 90, 90.000001, -180.0000001, 1e6,
    1e300, 2**63, "", "x", "x" * 64, "x" * 65, "x" * 257, "2026-11-30T12:00:00Z",
    "2026-11-30T12:00:00", "2026-13-01T00:00:00Z", "yesterday", [], [1], ["a"] * 21, {},
    {"lat": 0}, "available", "android", "FeatureCollection"]))


def paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*here, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> tuple[tuple[str, str], Any]:
    key = draw(st.sampled_from([k for k, _ in OPERATIONS]))
    body = copy.deepcopy(example({"$ref": "#/" + "/".join(
        p.replace("~", "~0").replace("/", "~1") for p in request_schemas(SPEC)[key])}))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(body)))
        if not where:
            body = draw(ODD)
            continue
        parent: Any = body
        for step in where[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "lat", "note", "status"]))] = draw(ODD)
        else:
            parent[where[-1]] = draw(ODD)
    return key, body


@hsettings(max_examples=600, deadline=None)
@given(mutated())
def test_compiled_checks_agree_with_jsonschema(case: tuple[tuple[str, str], Any]) -> None:
    key, body = case
    before = copy.deepcopy(body)
    verdict = reference(key, body)
    assert compiled(key, body) == verdict, (key, body)
    assert body == before   # checking never changes the body
    try:
        RequestValidator(SPEC).validate(*key, body)
        refused = False
    except ValidationFailed as exc:
        refused = True
        assert exc.errors   # jsonschema names what is wrong
    assert refused != verdict


@pytest.mark.parametrize("raw", ["2026-11-30T12:00:00Z", "2026-11-30T12:00:00+01:00",
                                 "2026-11-30t12:00:00z", "2026-11-30T12:00:00",
                                 "2026-11-30", "2026-13-01T00:00:00Z", "", "T"])
def test_the_date_time_check_is_the_same_for_both(raw: str) -> None:
    key = ("POST", "/v1/reports")
    body = {"source": "x", "external_id": "1", "text": "t", "posted_at": raw}
    assert compiled(key, body) == reference(key, body) == is_datetime(raw)


def test_a_server_parses_the_spec_when_first_needed_and_can_prepare_ahead() -> None:
    """Issue 13: parsing openapi.yaml (50 ms) no longer holds back readiness. The server
    passes the loader and prepares its ingest checks once started; the spec is read once."""
    loads: list[int] = []

    def load() -> dict[str, Any]:
        loads.append(1)
        return SPEC

    validator = RequestValidator(load)
    assert loads == []
    validator.prepare(("POST", "/v1/reports"), ("POST", "/v1/reports/batch"))
    assert loads == [1]
    with pytest.raises(ValidationFailed):
        validator.validate("POST", "/v1/reports", {"text": 5})
    assert loads == [1]
