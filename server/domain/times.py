"""Timestamps that come in from outside."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import FieldError, ValidationFailed

# Times outside these years are typing errors or attacks; inside them, every conversion
# (UTC, epoch seconds, +-14:00 offsets) stays far from datetime's limits.
FIRST_YEAR, LAST_YEAR = 1970, 9000


def parse_time(raw: Any, field: str) -> datetime:
    """An RFC 3339 timestamp with offset, or ValidationFailed naming the field."""
    try:
        value = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationFailed(f"{field} is out of range", errors=[FieldError(
            field, f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")])
    if value is None or value.tzinfo is None:
        raise ValidationFailed(f"{field} is not an RFC 3339 time", errors=[FieldError(
            field, "must be an RFC 3339 date-time with a UTC offset")])
    return value
