"""A hint the services give the store: the work in hand may wait behind urgent work.

Posts that alert nobody (the review and record bands) are most of a busy minute; a lone
cry for help, its escalation, its pushes and the officers' answers should not queue behind
them for the store. A store that can order its work (SQLite's one connection) serves the
rest first; one that cannot ignores the hint. It is carried in a context variable, so it
follows the work into the tasks that work starts, without widening every port."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_DEFERRABLE: ContextVar[bool] = ContextVar("bluelight_deferrable", default=False)


@contextlib.contextmanager
def deferrable(yes: bool = True) -> Iterator[None]:
    """Within this block (and tasks started in it), store work may wait behind urgent work."""
    token = _DEFERRABLE.set(yes)
    try:
        yield
    finally:
        _DEFERRABLE.reset(token)


def is_deferrable() -> bool:
    """Whether the work in hand said it may wait."""
    return _DEFERRABLE.get()
