"""Learning from outcomes: the control room's resolutions as labelled training posts."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..domain.records import Incident, IncidentStatus, Outcome
from ..ports import IncidentReads
from .corpus import Example

PAGE = 200
# Only these outcomes say whether a post was a cry for help; duplicate and unknown do not.
LABELS = {Outcome.EMERGENCY: True, Outcome.NOT_AN_EMERGENCY: False}


async def _resolved(store: IncidentReads) -> AsyncIterator[Incident]:
    before: str | None = None
    while True:
        page = await store.list_incidents(status=IncidentStatus.RESOLVED.value,
                                          before_id=before, limit=PAGE)
        for inc in page:
            yield inc
        if len(page) < PAGE:
            return
        before = page[-1].id


async def feedback_examples(store: IncidentReads) -> AsyncIterator[Example]:
    """Each report of each incident resolved as emergency / not an emergency, labelled so
    (reports whose text retention or the source removed are skipped)."""
    async for inc in _resolved(store):
        urgent = LABELS.get(inc.outcome) if inc.outcome is not None else None
        if urgent is None:
            continue
        for r in await store.list_reports(inc.id):
            if r.text and not r.redacted:
                yield Example(text=r.text, urgent=urgent,
                              category=inc.category.value if urgent else r.triage.category.value,
                              kind="first_hand" if urgent else "feedback",
                              lang=r.lang or "en", origin=f"{r.source}:{r.external_id}")
