"""The OpenAPI contract at run time: request bodies are validated against openapi.yaml."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .. import yamlio
from ..domain.errors import FieldError, ValidationFailed

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC_URI = "urn:bluelight:openapi"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
_REQUIRED = re.compile(r"'(.+?)' is a required property")


@cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The parsed spec (cached: it is read once per process)."""
    with path.open(encoding="utf-8") as f:
        spec: dict[str, Any] = yamlio.safe_load(f)
    return spec


def spec_registry(spec: dict[str, Any]) -> Registry[Any]:
    """A registry in which '#/components/...' references of the spec resolve."""
    resource: Resource[Any] = DRAFT202012.create_resource(spec)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def pointer(*parts: str) -> str:
    """A JSON pointer into the spec for a $ref."""
    escaped = (p.replace("~", "~0").replace("/", "~1") for p in parts)
    return f"{SPEC_URI}#/" + "/".join(escaped)


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


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    """RFC 3339 with a UTC offset (no extra dependency: the standard library parses it)."""
    if not isinstance(value, str):
        return True  # the type keyword reports non-strings
    if "T" not in value.upper() or datetime.fromisoformat(value).tzinfo is None:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time with an offset")
    return True


class RequestValidator:
    """Validates request bodies with the schema the spec gives each operation."""

    def __init__(self, spec: dict[str, Any]) -> None:
        registry = spec_registry(spec)
        self._validators: dict[tuple[str, str], jsonschema.Draft202012Validator] = {}
        for path, item in spec.get("paths", {}).items():
            for method, op in item.items():
                if method not in HTTP_METHODS:
                    continue  # path-level parameters, summary, ...
                content = (op.get("requestBody") or {}).get("content", {})
                if "application/json" in content:
                    ref = pointer("paths", path, method, "requestBody", "content",
                                  "application/json", "schema")
                    self._validators[(method.upper(), path)] = jsonschema.Draft202012Validator(
                        {"$ref": ref}, registry=registry, format_checker=FORMATS)

    def validate(self, method: str, path: str, body: Any) -> None:
        """Raise ValidationFailed naming each offending field; no schema means no check."""
        validator = self._validators.get((method, path))
        if validator is None:
            return
        errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path)))
        if errors:
            raise ValidationFailed(
                "the request body does not match the schema",
                errors=[FieldError(field_of(e), message_of(e)) for e in errors[:20]])
