"""Retention: what a purged or redacted report and incident look like (pure)."""

from __future__ import annotations

from dataclasses import replace

from ..domain.records import Incident, Report

PURGED = "[purged after the retention period]"
DELETED = "[removed: deleted at the source]"


def redact(report: Report, reason: str) -> Report:
    """The report without what the person wrote or who they are."""
    return replace(report, text="", author=None, url=None, place=None, redacted=reason)


def redact_summary(incident: Incident, text: str) -> Incident:
    """The incident with its summary (a copy of a report's text) replaced."""
    return replace(incident, summary=text)
