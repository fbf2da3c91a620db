"""Cross-cutting protections: CORS, security headers, timeouts, rate limits, the audit trail."""

from __future__ import annotations

import asyncio
import math
import time

from aiohttp import web
from aiohttp.typedefs import Middleware

from .. import keys
from ..security.ratelimit import Rate, parse_rates
from .auth import PRINCIPAL
from .problem import problem
from .routing import Handler

STREAMING = frozenset({"/v1/events"})
# Set by a handler whose change wrote its own audit entry in the same unit of work (ingest).
AUDITED = web.RequestKey("audited", bool)
CHANGES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
ALLOWED_HEADERS = "Authorization, Content-Type, Last-Event-ID, X-API-Key"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: hardening headers on every response, errors and streams too."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/v1"):
        response.headers.setdefault("Cache-Control", "no-store")


def cors_middleware(origins: tuple[str, ...]) -> Middleware:
    """Let the configured dashboard origins call the API from a browser."""
    allow_all = "*" in origins

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allowed = origin is not None and (allow_all or origin in origins)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not allowed:
                return problem(403, "origin_not_allowed",
                               f"origin {origin!r} may not call this API from a browser")
            response: web.StreamResponse = web.Response(status=204, headers={
                "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE",
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600"})
        else:
            response = await handler(request)
        if allowed and origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Retry-After, Location"
            response.headers.add("Vary", "Origin")
        return response

    return cors


@web.middleware
async def timeout_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request that takes too long is answered 503 instead of holding a connection."""
    if request.path in STREAMING:
        return await handler(request)
    seconds = request.app[keys.SETTINGS].request_timeout_s
    try:
        async with asyncio.timeout(seconds):
            return await handler(request)
    except TimeoutError:
        return problem(503, "timeout", f"the request took longer than {seconds:g} s",
                       headers={"Retry-After": "1"})


def rate_limit_middleware(raw_rates: str) -> Middleware:
    """Token buckets per principal (per IP when anonymous), with rates per role."""
    rates = parse_rates(raw_rates)
    fallback = Rate(20, 50)

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        principal = request.get(PRINCIPAL)
        if principal is None:
            key, rate = f"ip:{request.remote}", rates.get("anonymous", fallback)
        else:
            key = f"{principal.role.value}:{principal.sub}"
            rate = rates.get(principal.role.value, fallback)
        wait = request.app[keys.RATE_LIMITER].take(key, rate, time.monotonic())
        if wait > 0:
            return problem(429, "rate_limited",
                           f"too many requests; at most {rate.per_s:g}/s (burst {rate.burst:g})",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return await handler(request)

    return limit


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every successful change with who, what and from where."""
    response = await handler(request)
    if request.method in CHANGES and response.status < 400 and not request.get(AUDITED):
        route = request.match_info.route
        canonical = route.resource.canonical if route.resource else request.path
        await request.app[keys.AUDIT].record(request.get(PRINCIPAL),
                                             f"{request.method} {canonical}", request.path,
                                             request.remote, {"status": response.status})
    return response
