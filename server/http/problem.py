"""The one place that maps exceptions to RFC 9457 problem+json responses."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from ..domain.errors import DomainError
from .routing import Handler

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"

# Stable codes for errors that aiohttp raises before or around our handlers.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def problem(status: int, code: str, detail: str, *, title: str | None = None,
            errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    """A problem+json response with a stable `code`."""
    body: dict[str, Any] = {
        "type": f"https://bluelight.invalid/problems/{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_TYPE,
                        headers=headers)


INTERNAL = "an internal error occurred; it has been logged"


@dataclass(frozen=True)
class Problem:
    """What an exception means to a client: status, stable code, detail, field errors."""

    status: int
    code: str
    detail: str
    title: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    headers: dict[str, str] | None = None

    def response(self) -> web.Response:
        """As a problem+json response."""
        return problem(self.status, self.code, self.detail, title=self.title,
                       errors=self.errors, headers=self.headers)


def _from_http(exc: web.HTTPException) -> Problem:
    headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
    detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    if exc.status == 405:
        detail = f"method not allowed; allowed: {exc.headers.get('Allow', '')}"
    return Problem(exc.status, HTTP_CODES.get(exc.status, f"http_{exc.status}"), detail,
                   headers=headers)


def problem_of(exc: Exception) -> Problem:
    """The one map from an exception to what the client is told. Whole requests (the
    middleware below) and each item of a batch (http/reports.py) both answer through it,
    so a code means the same wherever it appears. Anything unexpected is a 500 `internal`
    whose detail says nothing of the cause (the caller logs it)."""
    if isinstance(exc, DomainError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if (wait := getattr(exc, "retry_after_s", None)) is not None:
            headers = {"Retry-After": str(wait)}
        return Problem(exc.status, exc.code, exc.detail, title=exc.title, headers=headers,
                       errors=[{"field": e.field, "message": e.message} for e in exc.errors])
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        return _from_http(exc)
    return Problem(500, "internal", INTERNAL)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into problem+json; never leak a stack trace to the client."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_of(exc).response()
    except DomainError as exc:
        return problem_of(exc).response()
    except Exception as exc:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_of(exc).response()
