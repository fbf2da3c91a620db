"""Handlers for /v1/reports: the signed-in ingest connectors' way in."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from aiohttp import web

from .. import keys
from ..auth import SourceNotAllowed
from ..domain.errors import DomainError, FieldError, ValidationFailed
from ..domain.sources import normalise_source
from ..domain.times import parse_time
from ..security.hashchain import AuditEntry
from ..services.reports import Ingested
from .auth import principal_of, reads_content
from .guard import AUDITED
from .io import UnsupportedMediaType, json_response, query_int, read_body, read_json
from .jsonbody import NonFiniteNumber, find_non_finite, find_unencodable, loads_marking
from .problem import problem_of
from .routing import CONTROL, INGEST, Route
from .serialize import report_json

log = logging.getLogger(__name__)

MAX_BATCH = 1000


def ingested_json(i: Ingested) -> dict[str, Any]:
    """What the connector needs back: our ids and the verdict."""
    r = i.report
    return {"id": r.id, "incident_id": r.incident_id, "neighbourhood_id": r.neighbourhood_id,
            "located_by": r.located_by, "priority": r.triage.priority.value,
            "category": r.triage.category.value, "cues": list(r.triage.cues),
            "band": r.triage.band.value, "score": r.triage.score, "lang": r.lang,
            "duplicate": not i.created}


def _check_source(request: web.Request, source: str) -> None:
    """A credential bound to sources writes and deletes only their posts (one connector
    can neither delete nor probe another's)."""
    if not principal_of(request).may_write(normalise_source(source)):
        raise SourceNotAllowed(f"this credential may not write posts of source {source!r}")


def _admit(request: web.Request, item: Any) -> Any:
    """A batch item as a single report would be checked: its schema, then its source."""
    if isinstance(item, _Unreadable):
        raise item.error
    request.app[keys.REQUEST_VALIDATOR].validate("POST", "/v1/reports", item)
    _check_source(request, item["source"])
    return item


async def post_report(request: web.Request) -> web.Response:
    """Ingest one post: 201 when new, 200 with the same ids for a repeat. The request's
    audit entry is written in the post's own unit of work (one commit for both)."""
    body = await read_json(request)
    _check_source(request, body["source"])
    base = request.app[keys.AUDIT].entry(principal_of(request), "POST /v1/reports",
                                         request.path, request.remote)

    def audit(created: bool) -> AuditEntry:
        return replace(base, detail={"status": 201 if created else 200})

    result = await request.app[keys.REPORTS].ingest(body, audit=audit)
    request[AUDITED] = True
    return json_response(ingested_json(result), 201 if result.created else 200)


class _Unreadable:
    """A batch item that could not be parsed: it gets its own rejected result."""

    def __init__(self, error: DomainError) -> None:
        self.error = error


def _parse_item(item: Any, clean: bool = False) -> Any:
    """The item, or _Unreadable saying why not (`clean`: its document was parsed by orjson,
    so it holds no non-finite number, lone surrogate or absurd nesting)."""
    if clean:
        return item
    try:
        text = find_unencodable(item)  # first: it refuses absurd nesting
        where = find_non_finite(item)
    except NonFiniteNumber as exc:
        return _Unreadable(ValidationFailed(str(exc), errors=[FieldError("body", str(exc))]))
    if where is not None:
        return _Unreadable(ValidationFailed("a number is not finite", errors=[
            FieldError(where, "NaN, Infinity and numbers too large for a float are not JSON")]))
    if text is not None:
        return _Unreadable(ValidationFailed("text is not valid Unicode", errors=[
            FieldError(text, "holds a lone surrogate")]))
    return item


def _parse_line(line: str) -> Any:
    try:
        clean, item = loads_marking(line)
        return _parse_item(item, clean)
    except NonFiniteNumber as exc:
        return _Unreadable(ValidationFailed(str(exc), errors=[FieldError("body", str(exc))]))
    except json.JSONDecodeError as exc:
        return _Unreadable(ValidationFailed("this line is not valid JSON",
                                            errors=[FieldError("body", str(exc))]))


async def _batch_items(request: web.Request) -> list[Any]:
    raw = await read_body(request, large=True)
    try:
        if request.content_type == "application/x-ndjson":
            # One bad line is that line's problem, not the whole batch's.
            items: Any = [_parse_line(line) for line in raw.decode().splitlines()
                          if line.strip()]
        elif request.content_type == "application/json":
            clean, items = loads_marking(raw)
            items = [_parse_item(i, clean) for i in items] if isinstance(items, list) else items
        else:
            raise UnsupportedMediaType("send a JSON array (application/json) or NDJSON "
                                       "(application/x-ndjson)")
    except (json.JSONDecodeError, UnicodeDecodeError, NonFiniteNumber) as exc:
        raise ValidationFailed("the body is not valid JSON or NDJSON",
                               errors=[FieldError("body", str(exc))]) from None
    if not isinstance(items, list):
        raise ValidationFailed("expected an array of reports",
                               errors=[FieldError("body", "must be an array")])
    if not 1 <= len(items) <= MAX_BATCH:
        raise ValidationFailed(f"a batch holds 1 to {MAX_BATCH} reports",
                               errors=[FieldError("body", f"has {len(items)} items")])
    return items


def _rejected(index: int, exc: Exception) -> dict[str, Any]:
    found = problem_of(exc)
    return {"index": index, "status": found.status, "code": found.code,
            "detail": found.detail, "errors": found.errors}


async def post_batch(request: web.Request) -> web.Response:
    """Ingest up to 1,000 posts; a bad one is reported and never loses the good ones."""
    outcomes: list[Any] = []
    for item in await _batch_items(request):
        try:
            outcomes.append(_admit(request, item))
        except Exception as exc:   # this item's problem; the others go on
            outcomes.append(exc)
    admitted = [o for o in outcomes if not isinstance(o, Exception)]
    stored = iter(await request.app[keys.REPORTS].ingest_many(admitted))
    results: list[dict[str, Any]] = []
    counts = {"created": 0, "duplicate": 0, "rejected": 0}
    for index, outcome in enumerate(outcomes):
        done = outcome if isinstance(outcome, Exception) else next(stored)
        if isinstance(done, Exception):
            # A fault on one item must not lose the others: report it, keep going.
            if not isinstance(done, DomainError):
                log.error("batch item %d failed", index, exc_info=done)
            counts["rejected"] += 1
            results.append(_rejected(index, done))
            continue
        counts["created" if done.created else "duplicate"] += 1
        results.append({"index": index, "status": 201 if done.created else 200,
                        **ingested_json(done)})
    return json_response({"counts": counts, "results": results})


async def post_deletion(request: web.Request) -> web.Response:
    """The source deleted a post: remove its text and author (the incident is kept)."""
    body = await read_json(request)
    _check_source(request, body["source"])
    redacted = await request.app[keys.STORE].redact_report(normalise_source(body["source"]),
                                                           body["external_id"])
    return json_response({"found": redacted is not None,
                          "id": None if redacted is None else redacted.id})


async def list_reports(request: web.Request) -> web.Response:
    """What came in, newest first, by source and time (the control room's view of the
    sources), paged with an opaque cursor."""
    since = request.query.get("since")
    source = request.query.get("source")
    limit = query_int(request, "limit", 50, 1, 500)
    items = await request.app[keys.STORE].find_reports(
        source=None if source is None else normalise_source(source),
        since=None if since is None else parse_time(since, "since"),
        before_id=request.query.get("cursor"), limit=limit)
    cursor = items[-1].id if len(items) == limit else None
    content = await reads_content(request, request.path_qs, len(items))
    return json_response({"items": [report_json(r, content=content) for r in items],
                          "next_cursor": cursor})


ROUTES = [
    Route("GET", "/v1/reports", list_reports, CONTROL),
    Route("POST", "/v1/reports/deletions", post_deletion, INGEST),
    Route("POST", "/v1/reports", post_report, INGEST),
    Route("POST", "/v1/reports/batch", post_batch, INGEST),
]
