"""Regression (issue 14, item 2): a push lost with its process is made again.

A push runs after the step commits; a process that dies in between (or while FCM hangs)
left the alert pending with its deliveries at 0 attempts, forever. Here the first app's push
hangs and the app is stopped mid-push (its tasks cancelled, as a kill leaves them); a second
app on the same store, its clock half a minute on, must push every device of the alert."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from server import keys
from server.adapters.push_log import LogPush
from server.ports import PushMessage, PushOutcome
from server.settings import Settings
from tests.alerting_world import (
    WHITEHALL,
    neighbourhood,
    officer_on_duty,
    policy_file,
    post,
    token_of,
)
from tests.conftest import ALL_STORES, ApiFactory, eventually

pytestmark = ALL_STORES


class HangingPush:
    """A push service that never answers (FCM hanging); the process then dies."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        self.started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Nothing to release."""


class LaterClock:
    """The wall clock, `ahead` in the future: the restart happens that much later."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


async def test_an_alert_whose_push_died_with_its_process_is_pushed_again(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    waves = [{"radius_m": 2000, "officers": 2, "ack_timeout_s": 600}]
    tuned = replace(settings, policy_file=policy_file(tmp_path, waves), sweep_s=0.05)
    hanging = HangingPush()
    first = await make_api(settings=tuned, push=hanging)
    await neighbourhood(first)
    await officer_on_duty(first, "a", 51.5050, -0.1265)
    await officer_on_duty(first, "b", 51.5060, -0.1265)
    r = await first.post("/v1/reports", post("he has a knife and he's coming at me, please help",
                                             "k1", lat=WHITEHALL[0], lon=WHITEHALL[1]),
                         role="ingest")
    iid = r.body["incident_id"]
    await asyncio.wait_for(hanging.started.wait(), timeout=5)
    await first.client.close()  # the process dies mid-push
    second = await make_api(settings=tuned, clock=LaterClock(timedelta(seconds=30)))
    detail = (await second.get(f"/v1/incidents/{iid}", role="admin")).body
    [alert] = detail["alerts"]
    assert alert["status"] == "pending"

    def pushed() -> set[str]:
        push = second.app[keys.PUSH]
        assert isinstance(push, LogPush)
        return {m.token for m in push.sent if m.data.get("alert_id") == alert["id"]}

    async def everyone_pushed() -> bool:
        return pushed() == {token_of("a"), token_of("b")}

    await eventually(everyone_pushed, within=5)
    await second.app[keys.TASKS].idle()
    detail = (await second.get(f"/v1/incidents/{iid}", role="admin")).body
    deliveries = detail["alerts"][0]["deliveries"]
    assert sorted((d["officer_id"], d["status"], d["attempts"]) for d in deliveries) == [
        ("a", "sent", 1), ("b", "sent", 1)]  # the stuck records, finished: not duplicates
    await asyncio.gather(second.app[keys.SCHEDULER].sweep(), second.app[keys.SCHEDULER].sweep())
    await second.app[keys.TASKS].idle()
    assert len(pushed()) == 2 and len([m for m in second.app[keys.PUSH].sent  # type: ignore
                                       if m.data.get("alert_id") == alert["id"]]) == 2
