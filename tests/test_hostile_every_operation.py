"""Issue 14, "done means": what schemathesis cannot send, sent to every operation that takes a
JSON body: non-finite numbers, lone surrogates, absurd nesting and extreme dates, in each
field the operation's schema names. Every answer must be a 4xx problem (or a success that
stored a clean value), never a 5xx."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Api

SPEC = yaml.safe_load((Path(__file__).parent.parent / "openapi.yaml").read_text())
JSON = {"Content-Type": "application/json"}
PLACEHOLDER = "hostile-123456"   # fits every path parameter's pattern
MARK = '"__HOSTILE__"'


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"].removeprefix("#/").split("/")
        node = SPEC
        for part in ref:
            node = node[part]
    return node


def json_operations() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, role, request schema) of every operation with a JSON body."""
    found = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch", "delete") or "requestBody" not in op:
                continue
            content = resolve(op["requestBody"]).get("content", {})
            schema = next((resolve(c["schema"]) for t, c in content.items()
                           if "json" in t and "schema" in c), None)
            roles = op.get("x-roles") or []
            if schema is None or not roles:
                continue
            concrete = path
            for name in ("id", "token", "jti", "alert_id", "incident_id", "name"):
                concrete = concrete.replace("{" + name + "}", PLACEHOLDER)
            found.append((method.upper(), concrete, roles[0], schema))
    return found


def skeleton(schema: dict[str, Any]) -> Any:
    """A small body of the schema's shape: each property with a plain value of its type."""
    schema = resolve(schema)
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return skeleton(schema[key][0])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        if "ReportIn" in items.get("description", ""):   # batch items are checked one by one
            items = SPEC["components"]["schemas"]["ReportIn"]
        return [skeleton(items)]
    if kind == "object" or "properties" in schema:
        return {k: skeleton(v) for k, v in schema.get("properties", {}).items()}
    if "enum" in schema:
        return schema["enum"][0]
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return "2026-11-30T12:00:00Z"
    return "a"


def fields(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every leaf of a body with its path."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in fields(v, (*path, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in fields(v, (*path, i))]
    return [(path, value)]


def with_raw(body: Any, path: tuple[Any, ...], raw: str) -> str:
    """The body as JSON text with the leaf at `path` replaced by raw JSON text."""
    if not path:
        return raw
    copy = json.loads(json.dumps(body))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "__HOSTILE__"
    return json.dumps(copy).replace(MARK, raw)


HOSTILE = {"nan": "NaN", "infinity": "-Infinity", "overflow": "1e999",
           "surrogate": '"\\ud800"', "year_1": '"0001-01-01T00:00:00+14:00"',
           "year_9999": '"9999-12-31T23:59:59-14:00"', "deep": "[" * 5000 + "]" * 5000}
OPERATIONS = json_operations()


def clean(value: Any) -> bool:
    """No non-finite number and no lone surrogate anywhere in a served body."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, dict):
        return all(clean(k) and clean(v) for k, v in value.items())
    if isinstance(value, list):
        return all(clean(v) for v in value)
    return True


def test_the_spec_has_operations_to_attack() -> None:
    assert len(OPERATIONS) >= 15, [f"{m} {p}" for m, p, _, _ in OPERATIONS]


@pytest.mark.parametrize(("method", "path", "role", "schema"), OPERATIONS,
                         ids=[f"{m} {p}" for m, p, _, _ in OPERATIONS])
async def test_no_hostile_value_in_any_field_is_a_server_error(
        api: Api, method: str, path: str, role: str, schema: dict[str, Any]) -> None:
    body = skeleton(schema)
    tried = 0
    for leaf, _ in fields(body) or [((), None)]:
        for name, raw in HOSTILE.items():
            r = await api.call(method, path, role=role, data=with_raw(body, leaf, raw),
                               headers=JSON)
            tried += 1
            assert r.status < 500, (name, leaf, r.status, r.body)
            if r.status >= 400:
                assert isinstance(r.body, dict) and "code" in r.body, (name, leaf, r.body)
            if r.status < 300:   # accepted: then nothing non-finite or broken is served back
                assert clean(r.body), (name, leaf, r.body)
    assert tried
