"""Replies to posters on the post's own network: recorded, audited, never sent twice."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from ..domain.allowance import Allowance
from ..domain.errors import Conflict, DomainError, NotFound, ReplyFailed
from ..domain.model import Principal, Role
from ..domain.records import Event, Reply, ReplyStatus, new_id
from ..ports import Clock, EventLog, IncidentReads, ReplySender, ReplyStore
from .audit import AuditLog
from .feed import EventFeed
from .tasks import TaskSet

log = logging.getLogger(__name__)
# Who sends the automatic receipt (audited and shown on the timeline as this actor).
RECEIPT_SENDER = Principal(sub="bluelight:receipt", role=Role.CONTROL_ROOM)


class OfficersUseTemplates(DomainError):
    """An officer tried to send free text."""

    code = "templates_only"
    status = 403
    title = "Forbidden"


class ReplyServiceStore(IncidentReads, ReplyStore, EventLog, Protocol):
    """The incident and its posts to answer, the replies made, and their timeline events."""


class ReplyService:
    """Sends a reply through the sender of the report's source, and records what happened."""

    def __init__(self, store: ReplyServiceStore, senders: Mapping[str, ReplySender],
                 templates: Mapping[str, str], audit: AuditLog, feed: EventFeed,
                 clock: Clock, *, allowances: Mapping[str, Allowance] | None = None,
                 receipt: str | None = None, tasks: TaskSet | None = None) -> None:
        self._store, self._senders, self.templates = store, senders, dict(templates)
        self._audit, self._feed, self._clock = audit, feed, clock
        self._allowances = dict(allowances or {})
        if receipt is not None and receipt not in self.templates:
            raise ValueError(f"the receipt template {receipt!r} is not a template")
        self.receipt_template = receipt
        self._tasks = tasks or TaskSet()

    def _text(self, who: Principal, text: str | None, template: str | None) -> str:
        if template is not None:
            if template not in self.templates:
                raise NotFound("template", template)
            return self.templates[template]
        if who.role is Role.OFFICER:
            raise OfficersUseTemplates("officers reply with a template (see "
                                       "GET /v1/reply-templates)")
        return (text or "").strip()

    async def send(self, incident_id: str, report_id: str | None, who: Principal, *,
                   text: str | None = None, template: str | None = None) -> tuple[Reply, bool]:
        """(the reply, True if this call created it). The same text to the same post again,
        while the first is queued or sent, returns the first: a double tap sends once.
        Without a report, the reply goes to the incident's first post that can be answered."""
        body = self._text(who, text, template)
        if await self._store.get_incident(incident_id) is None:
            raise NotFound("incident", incident_id)
        if report_id is None:
            report_id = await self._first_answerable(incident_id)
        report = await self._store.get_report(report_id)
        if report is None or report.incident_id != incident_id:
            raise NotFound("report", report_id)
        sender = self._senders.get(report.source)
        if sender is None:
            raise Conflict(f"source {report.source!r} has no reply account configured",
                           code="reply_unsupported")
        if report.redacted:
            raise Conflict("the post was deleted or its content purged", code="post_gone")
        for earlier in await self._store.list_replies(incident_id):
            if (earlier.report_id == report_id and earlier.text == body
                    and earlier.status is not ReplyStatus.FAILED):
                return earlier, False
        now = self._clock.now()
        allowance = self._allowances.get(report.source)
        if allowance is not None:
            allowance.take(now, f"the {report.source!r} account")
        reply = Reply(new_id("rpl", now), incident_id, report_id, report.source, body,
                      ReplyStatus.QUEUED, who.sub, now, now, template=template)
        await self._store.put_reply(reply)
        try:
            remote = await sender.send(report, body, reply.id)
            reply = replace(reply, status=ReplyStatus.SENT, remote_id=remote,
                            updated_at=self._clock.now())
        except ReplyFailed as exc:
            reply = replace(reply, status=ReplyStatus.FAILED, reason=str(exc)[:500],
                            updated_at=self._clock.now())
        await self._store.put_reply(reply)
        kind = "reply_sent" if reply.status is ReplyStatus.SENT else "reply_failed"
        await self._store.add_events([Event(kind, reply.updated_at, incident_id, actor=who.sub,
                                            data={"reply_id": reply.id, "report_id": report_id,
                                                  "reason": reply.reason})])
        self._feed.notify()
        await self._audit.record(who, kind, incident_id, None, {
            "reply_id": reply.id, "report_id": report_id, "template": template})
        return reply, True

    def acknowledged(self, incident_id: str, officer_id: str) -> None:
        """An officer took the incident: send the receipt in the background, if the force
        turned it on (the acknowledgement never waits for a network)."""
        if self.receipt_template is not None and self._senders:
            self._tasks.spawn(self.receipt(incident_id), name=f"receipt-{incident_id}")

    async def _first_answerable(self, incident_id: str) -> str:
        reports = sorted(await self._store.list_reports(incident_id),
                         key=lambda r: (r.posted_at, r.id))
        for report in reports:
            if report.source in self._senders and not report.redacted:
                return report.id
        raise Conflict("no post of this incident came from a source with a reply account",
                       code="reply_unsupported")

    async def receipt(self, incident_id: str) -> Reply | None:
        """Reply with the receipt template to the incident's first post that can be
        answered (one per incident: the same text to the same post is never sent twice)."""
        assert self.receipt_template is not None
        try:
            reply, _ = await self.send(incident_id, None, RECEIPT_SENDER,
                                       template=self.receipt_template)
        except DomainError as exc:   # nothing to answer, rate-limited, gone: no receipt
            log.info("no receipt for %s: %s", incident_id, exc)
            return None
        return reply

    async def close(self) -> None:
        """Close every sender's connections."""
        await self._tasks.close()
        for sender in self._senders.values():
            await sender.close()
