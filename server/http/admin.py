"""Administrators: connector API keys and the audit log."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import keys
from ..ports.credentials import ApiKey
from ..security.hashchain import AuditEntry
from .auth import principal_of
from .io import json_response, query_int, read_json
from .routing import ADMIN, Route


def key_json(k: ApiKey) -> dict[str, Any]:
    """A key as listed: never the key or its signing secret."""
    return {"id": k.id, "name": k.name, "role": k.role, "created_at": k.created_at,
            "created_by": k.created_by, "revoked_at": k.revoked_at,
            "sources": list(k.sources) or None}


def audit_json(e: AuditEntry) -> dict[str, Any]:
    """One audit entry with its chain hashes."""
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "role": e.role, "action": e.action,
            "target": e.target, "ip": e.ip, "detail": e.detail, "prev_hash": e.prev_hash,
            "hash": e.hash}


async def create_key(request: web.Request) -> web.Response:
    """A new connector key; the key and signing secret are shown this once only."""
    body = await read_json(request)
    record, plaintext, signing = await request.app[keys.API_KEYS].create(
        body["name"].strip(), principal_of(request).sub, request.app[keys.CLOCK].now(),
        body.get("sources") or ())
    return json_response({**key_json(record), "key": plaintext, "signing_secret": signing}, 201)


async def list_keys(request: web.Request) -> web.Response:
    """Every connector key, revoked ones included."""
    items = await request.app[keys.API_KEYS].list_all()
    return json_response({"items": [key_json(k) for k in items], "count": len(items)})


async def revoke_key(request: web.Request) -> web.Response:
    """Revoke a key: it stops working on every instance within seconds."""
    record = await request.app[keys.API_KEYS].revoke(request.match_info["id"],
                                                     request.app[keys.CLOCK].now())
    return json_response(key_json(record))


async def revoke_token(request: web.Request) -> web.Response:
    """Revoke a bearer token by its jti: refused on every instance within seconds."""
    await request.app[keys.REVOCATIONS].revoke(request.match_info["jti"],
                                                principal_of(request).sub,
                                                request.app[keys.CLOCK].now())
    return web.Response(status=204)


async def list_audit(request: web.Request) -> web.Response:
    """Audit entries in order, paged by seq."""
    after = query_int(request, "after", 0, 0, 2**62)
    limit = query_int(request, "limit", 100, 1, 1000)
    items = await request.app[keys.STORE].list_audit(after, limit)
    next_after = items[-1].seq if len(items) == limit else None
    return json_response({"items": [audit_json(e) for e in items], "next_after": next_after})


ROUTES = [
    Route("POST", "/v1/api-keys", create_key, ADMIN),
    Route("GET", "/v1/api-keys", list_keys, ADMIN),
    Route("DELETE", "/v1/api-keys/{id}", revoke_key, ADMIN),
    Route("DELETE", "/v1/tokens/{jti}", revoke_token, ADMIN),
    Route("GET", "/v1/audit", list_audit, ADMIN),
]
