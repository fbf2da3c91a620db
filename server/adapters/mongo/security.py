"""MongoDB collections for API keys, the audit log, and retention purges."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from ...domain.records import Incident, Report
from ...ports.credentials import ApiKey
from ...security.hashchain import AuditEntry, seal
from ...security.retention import DELETED, PURGED, redact, redact_summary
from ..codec import from_doc, to_doc
from .base import MongoBase

MAX_AUDIT_ATTEMPTS = 20


async def append_audit_doc(store: MongoBase, entry: AuditEntry) -> AuditEntry:
    """Seal after the last entry and insert with _id = seq: the unique _id makes the chain
    linear even with several writers (a loser re-reads and re-seals)."""
    for _ in range(MAX_AUDIT_ATTEMPTS):
        last = await store.col("audit").find({}).sort("_id", -1).limit(1).to_list(None)
        sealed = seal(entry, from_doc(AuditEntry, last[0]) if last else None)
        try:
            await store.col("audit").insert_one({**to_doc(sealed), "_id": sealed.seq})
            return sealed
        except DuplicateKeyError:
            continue
    raise RuntimeError("could not append to the audit log: too much contention")


class SecurityCollections(MongoBase):
    """Connector keys, the hash-chained audit log, and redaction of report content."""

    async def put_api_key(self, key: ApiKey) -> None:
        """Insert or replace a key."""
        await self.col("api_keys").replace_one({"_id": key.id}, {**to_doc(key), "_id": key.id},
                                               upsert=True)

    async def get_api_key(self, kid: str) -> ApiKey | None:
        """One key."""
        doc = await self.col("api_keys").find_one({"_id": kid})
        return None if doc is None else from_doc(ApiKey, doc)

    async def list_api_keys(self) -> list[ApiKey]:
        """All keys, oldest first."""
        docs = await self.col("api_keys").find({}).sort([("created_at", 1), ("_id", 1)]).to_list(
            None)
        return [from_doc(ApiKey, d) for d in docs]

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Seal after the last entry and insert with _id = seq (see append_audit_doc)."""
        return await append_audit_doc(self, entry)

    async def revoke_token(self, token_id: str, by: str, now: datetime) -> bool:
        """Record a revoked token id; False if it already was."""
        try:
            await self.col("revoked_tokens").insert_one(
                {"_id": token_id, "revoked_at": now.timestamp(), "revoked_by": by})
        except DuplicateKeyError:
            return False
        return True

    async def token_revoked(self, token_id: str) -> bool:
        """True once the token id has been revoked."""
        return await self.col("revoked_tokens").find_one({"_id": token_id}, {"_id": 1}) is not None

    async def list_audit(self, after_seq: int = 0, limit: int = 500) -> list[AuditEntry]:
        """Audit entries in order."""
        docs = await self.col("audit").find({"_id": {"$gt": after_seq}}).sort("_id", 1).limit(
            limit).to_list(None)
        return [from_doc(AuditEntry, d) for d in docs]

    async def _rewrite(self, inc: Incident) -> None:
        bumped = replace(inc, version=inc.version + 1)
        await self.col("incidents").find_one_and_update(
            {"_id": inc.id, "version": inc.version}, {"$set": {**to_doc(bumped), "_id": inc.id}})

    async def purge_content(self, received_before: datetime, limit: int = 1000) -> int:
        """Remove text and author of reports older than the cutoff (see the SQLite twin)."""
        cutoff = received_before.timestamp()
        docs = await self.col("reports").find(
            {"received_at": {"$lt": cutoff}, "redacted": None}).limit(limit).to_list(None)
        for d in docs:
            r = redact(from_doc(Report, d), "retention")
            await self.col("reports").replace_one({"_id": r.id}, {**to_doc(r), "_id": r.id})
        incidents: list[dict[str, Any]] = await self.col("incidents").find(
            {"last_seen_at": {"$lt": cutoff}, "summary": {"$nin": [PURGED, DELETED]}}).limit(
                limit).to_list(None)
        for d in incidents:
            await self._rewrite(redact_summary(from_doc(Incident, d), PURGED))
        return len(docs)

    async def redact_report(self, source: str, external_id: str) -> Report | None:
        """Remove one post's content because its source deleted it."""
        doc = await self.col("reports").find_one({"source": source, "external_id": external_id})
        if doc is None:
            return None
        report = from_doc(Report, doc)
        redacted = redact(report, "deleted_at_source")
        await self.col("reports").replace_one({"_id": report.id},
                                              {**to_doc(redacted), "_id": report.id})
        inc = None if report.incident_id is None else await self.get_incident_doc(
            report.incident_id)
        if inc is not None and report.text and (report.text.startswith(inc.summary)
                                                or inc.summary.startswith(report.text)):
            await self._rewrite(redact_summary(inc, DELETED))
        return redacted

    async def get_incident_doc(self, iid: str) -> Incident | None:
        """One incident (read here without depending on the alerting mixin)."""
        doc = await self.col("incidents").find_one({"_id": iid})
        return None if doc is None else from_doc(Incident, doc)
