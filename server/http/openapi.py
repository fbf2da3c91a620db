"""The OpenAPI contract at run time: request bodies are validated against openapi.yaml.

Each operation's request schema is compiled, on its first request, to Python code
(fastjsonschema) that checks a valid report in ~4 us; walking the schema with jsonschema
took ~200 us, the largest cost of an ingest after triage (README, Performance). A body the
compiled check refuses goes to jsonschema (Draft 2020-12, the reference), which names every
offending field and has the last word: what it accepts is accepted. So a difference between
the two can only ever make a refusal slower, never let a bad body in, and
tests/test_request_validation.py holds the compiled checks to jsonschema's answers.
jsonschema itself is imported with the first refused body, not at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from .. import yamlio
from ..domain.errors import FieldError, ValidationFailed

if TYPE_CHECKING:   # imported when first needed: ~0.1 s of start-up
    import jsonschema
    from referencing import Registry

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC_URI = "urn:bluelight:openapi"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
_REQUIRED = re.compile(r"'(.+?)' is a required property")
JSON = "application/json"


@cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The parsed spec (cached: it is read once per process)."""
    with path.open(encoding="utf-8") as f:
        spec: dict[str, Any] = yamlio.safe_load(f)
    return spec


def spec_registry(spec: dict[str, Any]) -> Registry[Any]:
    """A registry in which '#/components/...' references of the spec resolve."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource: Resource[Any] = DRAFT202012.create_resource(spec)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def pointer(*parts: str) -> str:
    """A JSON pointer into the spec for a $ref."""
    return f"{SPEC_URI}#/" + "/".join(_escape(p) for p in parts)


def field_of(error: jsonschema.ValidationError) -> str:
    """A readable field path (a.b[0].c) for one schema error, naming missing fields too."""
    parts: list[Any] = list(error.absolute_path)
    if error.validator == "required":
        m = _REQUIRED.search(error.message)
        if m:
            parts.append(m.group(1))
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def message_of(error: jsonschema.ValidationError) -> str:
    """The schema error in words a client developer can act on."""
    if error.validator == "required":
        return "is required"
    if error.validator == "additionalProperties":
        return _capped(f"unexpected field(s): {error.message.split('(')[-1].rstrip(')')}")
    said = _SAYS.get(str(error.validator))
    if said is not None:
        return said.format(error.validator_value)
    return _capped(error.message)


# What each keyword means, without echoing the value back (a 422 once echoed a 1 MB field).
_SAYS = {"maxLength": "is longer than {} characters", "minLength": "is shorter than {} "
         "characters", "maximum": "is above {}", "minimum": "is below {}",
         "maxItems": "has more than {} items", "minItems": "has fewer than {} items",
         "type": "must be of type {}", "pattern": "does not match the pattern {}"}
ECHO_CHARS = 200


def _capped(message: str) -> str:
    return message if len(message) <= ECHO_CHARS else message[:ECHO_CHARS] + "... (cut)"


def is_datetime(value: str) -> bool:
    """RFC 3339 with a UTC offset (no extra dependency: the standard library parses it)."""
    try:
        return "T" in value.upper() and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


@cache
def _format_checker() -> jsonschema.FormatChecker:
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True  # the type keyword reports non-strings
        if not is_datetime(value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time with an offset")
        return True

    return checker


def request_schemas(spec: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """(METHOD, path) -> the JSON pointer parts of the operation's request body schema."""
    found: dict[tuple[str, str], list[str]] = {}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue  # path-level parameters, summary, ...
            if JSON in (op.get("requestBody") or {}).get("content", {}):
                found[(method.upper(), path)] = ["paths", path, method, "requestBody",
                                                 "content", JSON, "schema"]
    return found


def compile_fast(spec: dict[str, Any], parts: list[str]) -> Callable[[Any], Any]:
    """The compiled check of one schema of the spec: returns the body, or raises
    fastjsonschema.JsonSchemaException at the first thing wrong."""
    # The whole spec is the root document, so '#/components/...' resolves as in jsonschema.
    # Formats: only date-time is checked, as jsonschema is told (no others are declared).
    check: Callable[[Any], Any] = fastjsonschema.compile(
        {**spec, "$ref": "#/" + "/".join(_escape(p) for p in parts)},
        formats={"date-time": is_datetime}, use_default=False)
    return check


class RequestValidator:
    """Validates request bodies with the schema the spec gives each operation."""

    def __init__(self, spec: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        # A server passes the loader: parsing the spec (50 ms) then waits for prepare() after
        # start-up, or for the first body, instead of holding back readiness.
        self._load = spec if callable(spec) else (lambda: spec)
        self._parsed: tuple[dict[str, Any], dict[tuple[str, str], list[str]]] | None = None
        self._fast: dict[tuple[str, str], Callable[[Any], Any]] = {}
        self._full: dict[tuple[str, str], jsonschema.Draft202012Validator] = {}
        self._registry: Registry[Any] | None = None

    @property
    def _spec(self) -> dict[str, Any]:
        return self._loaded()[0]

    @property
    def _schemas(self) -> dict[tuple[str, str], list[str]]:
        return self._loaded()[1]

    def _loaded(self) -> tuple[dict[str, Any], dict[tuple[str, str], list[str]]]:
        if self._parsed is None:
            spec = self._load()
            self._parsed = (spec, request_schemas(spec))
        return self._parsed

    def prepare(self, *operations: tuple[str, str]) -> None:
        """Parse the spec and compile these operations' checks now (a server does this for
        its ingest routes once started, in a worker thread), not on the first request."""
        for key in operations:
            parts = self._schemas.get(key)
            if parts is not None and key not in self._fast:
                self._fast[key] = compile_fast(self._spec, parts)

    def validate(self, method: str, path: str, body: Any) -> None:
        """Raise ValidationFailed naming each offending field; no schema means no check."""
        key = (method, path)
        parts = self._schemas.get(key)
        if parts is None:
            return
        check = self._fast.get(key)
        if check is None:
            check = self._fast[key] = compile_fast(self._spec, parts)
        try:
            check(body)
            return
        except fastjsonschema.JsonSchemaException:
            pass  # jsonschema says what is wrong (and whether anything is)
        errors = sorted(self._reference(key, parts).iter_errors(body),
                        key=lambda e: list(map(str, e.path)))
        if errors:
            raise ValidationFailed(
                "the request body does not match the schema",
                errors=[FieldError(field_of(e), message_of(e)) for e in errors[:20]])

    def _reference(self, key: tuple[str, str],
                   parts: list[str]) -> jsonschema.Draft202012Validator:
        found = self._full.get(key)
        if found is None:
            import jsonschema

            if self._registry is None:
                self._registry = spec_registry(self._spec)
            found = self._full[key] = jsonschema.Draft202012Validator(
                {"$ref": pointer(*parts)}, registry=self._registry,
                format_checker=_format_checker())
        return found
