"""The audit log's hash chain: each entry's hash covers its content and the previous hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """Who did what, when, from where; `hash` seals it to every entry before it."""

    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    ip: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""


def _canonical(e: AuditEntry) -> bytes:
    body = {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "role": e.role,
            "action": e.action, "target": e.target, "ip": e.ip, "detail": e.detail,
            "prev_hash": e.prev_hash}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def seal(entry: AuditEntry, previous: AuditEntry | None) -> AuditEntry:
    """The entry numbered and chained after `previous`, with its hash."""
    return seal_after(entry, None if previous is None else (previous.seq, previous.hash))


def seal_after(entry: AuditEntry, previous: tuple[int, str] | None) -> AuditEntry:
    """The entry chained after the one numbered previous[0] whose hash is previous[1] (a
    store that can read those two alone need not decode the whole previous entry)."""
    seq, prev_hash = (1, GENESIS) if previous is None else (previous[0] + 1, previous[1])
    chained = replace(entry, seq=seq, prev_hash=prev_hash)
    return replace(chained, hash=hashlib.sha256(_canonical(chained)).hexdigest())


def verify(entries: Iterable[AuditEntry]) -> list[str]:
    """Every break in the chain: an edited entry, a deleted one, or a reordering."""
    problems: list[str] = []
    previous: AuditEntry | None = None
    for e in entries:
        expected_seq = 1 if previous is None else previous.seq + 1
        if e.seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (found {e.seq} next)")
        expected_prev = GENESIS if previous is None else previous.hash
        if e.prev_hash != expected_prev:
            problems.append(f"entry {e.seq} does not follow entry {e.seq - 1}")
        if hashlib.sha256(_canonical(e)).hexdigest() != e.hash:
            problems.append(f"entry {e.seq} was edited (its hash does not match)")
        previous = e
    return problems
