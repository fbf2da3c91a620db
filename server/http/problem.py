"""The one place that maps exceptions to RFC 9457 problem+json responses."""

from __future__ import annotations

import json
import logging
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


def _from_http(exc: web.HTTPException) -> web.Response:
    headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
    detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    if exc.status == 405:
        detail = f"method not allowed; allowed: {exc.headers.get('Allow', '')}"
    return problem(exc.status, HTTP_CODES.get(exc.status, f"http_{exc.status}"), detail,
                   headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into problem+json; never leak a stack trace to the client."""
    try:
        return await handler(request)
    except DomainError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if (wait := getattr(exc, "retry_after_s", None)) is not None:
            headers = {"Retry-After": str(wait)}
        return problem(exc.status, exc.code, exc.detail, title=exc.title, headers=headers,
                       errors=[{"field": e.field, "message": e.message} for e in exc.errors])
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http(exc)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal", "an internal error occurred; it has been logged")
