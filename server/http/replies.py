"""Replies to posters: send one, and list the templates."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import keys
from ..domain.errors import FieldError, ValidationFailed
from ..domain.records import Reply
from .auth import principal_of
from .io import json_response, read_json
from .routing import STAFF, Route


def reply_json(r: Reply) -> dict[str, Any]:
    """A reply and what became of it."""
    return {"id": r.id, "incident_id": r.incident_id, "report_id": r.report_id,
            "source": r.source, "text": r.text, "template": r.template,
            "status": r.status.value, "remote_id": r.remote_id, "reason": r.reason,
            "requested_by": r.requested_by, "created_at": r.created_at,
            "updated_at": r.updated_at}


async def post_reply(request: web.Request) -> web.Response:
    """Reply on the post's own network (control room: text or template; officers:
    templates only). 201 when sent or failed now, 200 for a repeat of a reply already made."""
    body = await read_json(request)
    text, template = body.get("text"), body.get("template")
    if (text is None) == (template is None) or (text is not None and not text.strip()):
        raise ValidationFailed("give either text or template", errors=[
            FieldError("text", "exactly one of text and template")])
    reply, created = await request.app[keys.REPLIES].send(
        request.match_info["id"], body.get("report_id"), principal_of(request), text=text,
        template=template)
    return json_response(reply_json(reply), 201 if created else 200)


async def list_templates(request: web.Request) -> web.Response:
    """The force's reply templates."""
    return json_response({"templates": request.app[keys.REPLIES].templates})


ROUTES = [
    Route("POST", "/v1/incidents/{id}/replies", post_reply, STAFF),
    Route("GET", "/v1/reply-templates", list_templates, STAFF),
]
