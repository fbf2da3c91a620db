"""Rules that handlers leave to others, tested without HTTP: who sees what the public wrote
and the audit of each read (the domain and the audit service; test_security_roles.py has it
through the API), and the one exception-to-problem map (http/problem.py) that whole requests
and each item of a batch share."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp import web

from server.domain.errors import Busy, FieldError, ValidationFailed
from server.domain.model import Principal, Role
from server.domain.visibility import sees_content
from server.http.problem import problem_of
from server.http.reports import _rejected
from server.security.hashchain import AuditEntry
from server.services.audit import AuditLog
from tests.fake_timer import FakeClock


class ListAudit:
    """The AuditStore port in a list (no chain: AuditLog's reads do not need one here)."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        self.entries.append(replace(entry, seq=len(self.entries) + 1))
        return self.entries[-1]

    async def list_audit(self, after_seq: int = 0, limit: int = 500) -> list[AuditEntry]:
        return self.entries[after_seq:after_seq + limit]


@pytest.mark.parametrize("role,sees", [(Role.CONTROL_ROOM, True), (Role.OFFICER, True),
                                       (Role.ADMIN, False), (Role.INGEST, False)])
async def test_content_is_shown_to_those_who_act_and_each_read_is_audited(
        role: Role, sees: bool) -> None:
    store = ListAudit()
    who = Principal(sub="p1", role=role)
    assert sees_content(who) is sees
    audit = AuditLog(store, FakeClock())
    assert await audit.reads_content(who, "/v1/incidents/i1", "10.0.0.1", 3) is sees
    assert await audit.reads_content(who, "/v1/incidents", "10.0.0.1", 0) is sees
    # Only the read that showed something is on the log, and only for those who saw it.
    assert [(e.actor, e.action, e.target, e.detail) for e in store.entries] == (
        [("p1", "read_report_content", "/v1/incidents/i1", {"items": 3})] if sees else [])


@pytest.mark.parametrize("exc", [
    ValidationFailed("bad", errors=[FieldError("text", "is empty")]), Busy("try again"),
    web.HTTPRequestEntityTooLarge(max_size=1, actual_size=2), RuntimeError("db password x")],
    ids=lambda e: type(e).__name__)
def test_a_batch_item_is_answered_by_the_same_map_as_a_request(exc: Exception) -> None:
    found = problem_of(exc)
    assert _rejected(4, exc) == {"index": 4, "status": found.status, "code": found.code,
                                 "detail": found.detail, "errors": found.errors}
    if isinstance(exc, RuntimeError):   # an unexpected fault says nothing of its cause
        assert (found.status, found.code) == (500, "internal") and "password" not in found.detail
