"""Handlers for /v1/reports: the signed-in ingest connectors' way in."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .. import keys
from ..domain.errors import DomainError, FieldError, ValidationFailed
from ..services.reports import Ingested
from .io import NonFiniteNumber, UnsupportedMediaType, json_response, loads, read_json
from .routing import INGEST, Route

MAX_BATCH = 1000


def ingested_json(i: Ingested) -> dict[str, Any]:
    """What the connector needs back: our ids and the verdict."""
    r = i.report
    return {"id": r.id, "incident_id": r.incident_id, "neighbourhood_id": r.neighbourhood_id,
            "located_by": r.located_by, "priority": r.triage.priority.value,
            "category": r.triage.category.value, "cues": list(r.triage.cues),
            "band": r.triage.band.value, "score": r.triage.score, "lang": r.lang,
            "duplicate": not i.created}


async def _ingest_one(request: web.Request, item: Any) -> Ingested:
    request.app[keys.REQUEST_VALIDATOR].validate("POST", "/v1/reports", item)
    return await request.app[keys.REPORTS].ingest(item)


async def post_report(request: web.Request) -> web.Response:
    """Ingest one post: 201 when new, 200 with the same ids for a repeat."""
    result = await _ingest_one(request, await read_json(request))
    return json_response(ingested_json(result), 201 if result.created else 200)


async def _batch_items(request: web.Request) -> list[Any]:
    raw = await request.read()
    try:
        if request.content_type == "application/x-ndjson":
            items = [loads(line) for line in raw.decode().splitlines() if line.strip()]
        elif request.content_type == "application/json":
            items = loads(raw)
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


async def post_batch(request: web.Request) -> web.Response:
    """Ingest up to 1,000 posts; a bad one is reported and never loses the good ones."""
    results: list[dict[str, Any]] = []
    counts = {"created": 0, "duplicate": 0, "rejected": 0}
    for index, item in enumerate(await _batch_items(request)):
        try:
            done = await _ingest_one(request, item)
        except DomainError as exc:
            counts["rejected"] += 1
            results.append({"index": index, "status": exc.status, "code": exc.code,
                            "detail": exc.detail, "errors": [
                                {"field": e.field, "message": e.message} for e in exc.errors]})
            continue
        counts["created" if done.created else "duplicate"] += 1
        results.append({"index": index, "status": 201 if done.created else 200,
                        **ingested_json(done)})
    return json_response({"counts": counts, "results": results})


async def post_deletion(request: web.Request) -> web.Response:
    """The source deleted a post: remove its text and author (the incident is kept)."""
    body = await read_json(request)
    redacted = await request.app[keys.STORE].redact_report(body["source"], body["external_id"])
    return json_response({"found": redacted is not None,
                          "id": None if redacted is None else redacted.id})


ROUTES = [
    Route("POST", "/v1/reports/deletions", post_deletion, INGEST),
    Route("POST", "/v1/reports", post_report, INGEST),
    Route("POST", "/v1/reports/batch", post_batch, INGEST),
]
