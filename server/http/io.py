"""Request parsing and response serialisation shared by the handlers."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from .. import keys
from ..domain.errors import DomainError, FieldError, ValidationFailed
from .jsonbody import NonFiniteNumber, loads


class UnsupportedMediaType(DomainError):
    """A body sent with a content type the route does not take."""

    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


def iso(dt: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, or None."""
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


# Datetimes and dataclasses go to json_default, as with the standard library's encoder.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(data: Any) -> bytes:
    """JSON bytes (orjson: ~10x the standard library's encoder); what orjson refuses (an
    integer beyond 64 bits, a non-string key) is encoded by the standard library instead."""
    try:
        return orjson.dumps(data, default=json_default, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(data, default=json_default).encode()


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response; datetimes become RFC 3339 strings."""
    return web.Response(status=status, body=dumps(data), content_type="application/json",
                        charset="utf-8")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json"))


# Most bodies are small (a report, a location fix); routes that take big ones (batches,
# neighbourhood geometry) say so and get BLUELIGHT_MAX_BODY_BYTES.
SMALL_BODY = 256 * 1024   # a report at its schema limits stays under this


async def read_body(request: web.Request, *, large: bool = False) -> bytes:
    """The raw body; 413 past the route's limit, refused on Content-Length before a byte is
    read (a chunked body is bounded by BLUELIGHT_MAX_BODY_BYTES while read)."""
    limit = request.app[keys.SETTINGS].max_body_bytes if large else SMALL_BODY
    declared = request.content_length
    if declared is not None and declared > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=declared)
    raw = await request.read()  # raises 413 past client_max_size
    if len(raw) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(raw))
    return raw


async def read_json(request: web.Request, *, large: bool = False) -> Any:
    """Parse a JSON body and validate it against the route's schema in openapi.yaml."""
    if not _is_json(request.content_type):
        raise UnsupportedMediaType(
            f"send the body as application/json, not {request.content_type!r}")
    raw = await read_body(request, large=large)
    try:
        body = loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, NonFiniteNumber) as exc:
        raise ValidationFailed("the body is not valid JSON",
                               errors=[FieldError("body", str(exc))]) from None
    request.app[keys.REQUEST_VALIDATOR].validate(request.method, _route_path(request), body)
    return body


def _route_path(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return "" if resource is None else resource.canonical


async def read_optional_json(request: web.Request) -> Any:
    """Like read_json, but an empty body counts as {}."""
    if request.can_read_body:
        return await read_json(request)
    request.app[keys.REQUEST_VALIDATOR].validate(request.method, _route_path(request), {})
    return {}


def query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    """An optional integer query parameter within [lo, hi]."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ValidationFailed(f"query parameter {name!r} is out of range",
                               errors=[FieldError(name, f"must be an integer in [{lo}, {hi}]")])
    return value


def query_choice(request: web.Request, name: str, choices: Iterable[str]) -> str | None:
    """An optional query parameter that must be one of `choices`."""
    raw = request.query.get(name)
    allowed = list(choices)
    if raw is not None and raw not in allowed:
        raise ValidationFailed(f"query parameter {name!r} is not one of {allowed}",
                               errors=[FieldError(name, f"must be one of {', '.join(allowed)}")])
    return raw


def query_float(request: web.Request, name: str, lo: float, hi: float) -> float:
    """A required numeric query parameter within [lo, hi]."""
    raw = request.query.get(name)
    if raw is None:
        raise ValidationFailed(f"query parameter {name!r} is required",
                               errors=[FieldError(name, "is required")])
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValidationFailed(f"query parameter {name!r} is out of range",
                               errors=[FieldError(name, f"must be a number in [{lo}, {hi}]")])
    return value


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    """An optional boolean query parameter (true/false/1/0)."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ValidationFailed(f"query parameter {name!r} must be true or false",
                           errors=[FieldError(name, "must be true or false")])


def query_str(request: web.Request, name: str, default: str) -> str:
    """An optional non-empty string query parameter."""
    raw = request.query.get(name, default).strip()
    if not raw or len(raw) > 200:
        raise ValidationFailed(f"query parameter {name!r} must be 1-200 characters",
                               errors=[FieldError(name, "must be 1-200 characters")])
    return raw
