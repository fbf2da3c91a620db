"""The reply allowance: a rolling hour, pure and unit-tested with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.allowance import Allowance, RepliesRateLimited

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_n_sends_an_hour_then_a_wait_until_the_oldest_leaves_the_window() -> None:
    a = Allowance(per_hour=2)
    a.take(T0, "acct")
    a.take(T0 + timedelta(minutes=10), "acct")
    with pytest.raises(RepliesRateLimited) as refused:
        a.take(T0 + timedelta(minutes=20), "acct")
    assert refused.value.retry_after_s == 40 * 60 + 1
    assert a.wait_s(T0 + timedelta(minutes=59, seconds=59)) == pytest.approx(1.0)
    a.take(T0 + timedelta(hours=1), "acct")      # the first send has left the hour
    with pytest.raises(RepliesRateLimited):
        a.take(T0 + timedelta(hours=1), "acct")
