"""Exactly once across a restart and across two instances; the live event stream."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from server import keys
from server.settings import Settings
from tests import sse
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, policy_file, post
from tests.conftest import ALL_STORES, Api, ApiFactory, eventually
from tests.fake_timer import FakeClock, FakeTimer

pytestmark = ALL_STORES

WAVES = [{"radius_m": 1000, "officers": 1, "ack_timeout_s": 0.6},
         {"radius_m": 5000, "officers": 1, "ack_timeout_s": 60}]


async def timeline(api: Api, iid: str) -> list[str]:
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    return [e["kind"] for e in detail["timeline"]]


async def test_step_pending_at_stop_is_performed_once_after_restart(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    tuned = replace(settings, policy_file=policy_file(tmp_path, [
        {**WAVES[0], "ack_timeout_s": 30}, WAVES[1]]))
    clock = FakeClock()
    first = await make_api(settings=tuned, clock=clock, timer=FakeTimer(clock))
    await neighbourhood(first)
    await officer_on_duty(first, "near", 51.5050, -0.1265)
    await officer_on_duty(first, "far", 51.5300, -0.1265)
    r = await first.post("/v1/reports", post("he has a knife", "k1", lat=WHITEHALL[0],
                                             lon=WHITEHALL[1]), role="ingest")
    iid = r.body["incident_id"]
    await first.client.close()  # stopped with wave 2 due in 30 s and nobody to run it

    timer = FakeTimer(clock)
    second = await make_api(settings=tuned, clock=clock, timer=timer)
    # The start-up sweep waits its turn on the timer (readiness does not wait for it), and
    # re-arms the step from the store.
    assert list(timer.armed()) == ["sweep", "sweep:start"]
    await timer.advance(0)
    assert list(timer.armed()) == ["sweep", f"step:{iid}"]
    await timer.advance(31)
    assert (await timeline(second, iid)).count("alert_sent") == 2
    await timer.advance(50)   # fifty sweeps: the step must not repeat
    kinds = await timeline(second, iid)
    assert kinds.count("alert_sent") == 2 and kinds.count("alert_expired") == 1
    detail = (await second.get(f"/v1/incidents/{iid}", role="admin")).body
    assert [a["recipients"] for a in detail["alerts"]] == [["near"], ["far"]]


async def test_two_instances_perform_each_step_once(make_api: ApiFactory, settings: Settings,
                                                    tmp_path: Path) -> None:
    tuned = replace(settings, policy_file=policy_file(tmp_path, WAVES), sweep_s=0.05)
    one, two = await make_api(settings=tuned), await make_api(settings=tuned)
    await neighbourhood(one)
    await officer_on_duty(one, "near", 51.5050, -0.1265)
    await officer_on_duty(one, "far", 51.5300, -0.1265)
    iids = []
    texts = ["he has a knife", "man not breathing", "house fire", "i want to end it"]
    for i, text in enumerate(texts):
        r = await one.post("/v1/reports", post(text, f"k{i}", lat=WHITEHALL[0],
                                               lon=WHITEHALL[1]), role="ingest")
        iids.append(r.body["incident_id"])
    assert len(set(iids)) == 4

    async def all_stepped() -> bool:
        kinds = [await timeline(two, iid) for iid in iids]
        return all(k.count("alert_expired") >= 1 for k in kinds)

    await eventually(all_stepped, within=8)
    await asyncio.gather(one.app[keys.SCHEDULER].sweep(), two.app[keys.SCHEDULER].sweep())
    for iid in iids:
        kinds = await timeline(one, iid)
        assert kinds.count("alert_expired") == 1, kinds
        assert kinds.count("alert_sent") + kinds.count("escalated") == 2, kinds


async def test_concurrent_acks_across_two_instances(make_api: ApiFactory) -> None:
    one, two = await make_api(), await make_api()
    await neighbourhood(one)
    for i in range(2):
        await officer_on_duty(one, f"o{i}", 51.505 + i * 0.001, -0.1265)
    r = await one.post("/v1/reports", post("burglar downstairs", "b1", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    alert_id = (await one.get(f"/v1/incidents/{r.body['incident_id']}",
                              role="admin")).body["alerts"][0]["id"]
    results = await asyncio.gather(one.post(f"/v1/alerts/{alert_id}/ack", role="officer",
                                            sub="o0"),
                                   two.post(f"/v1/alerts/{alert_id}/ack", role="officer",
                                            sub="o1"))
    assert sorted(x.status for x in results) == [200, 409]


async def read_events(api: Api, n: int, headers: dict[str, str]) -> list[dict[str, object]]:
    """Open the control room's stream and read n events."""
    return await sse.read_events(api, "/v1/events", "control_room", "tester", n, headers)


async def test_event_stream_resumes_and_carries_other_instances_events(
        make_api: ApiFactory) -> None:
    one, two = await make_api(), await make_api()
    await neighbourhood(one)
    reader = asyncio.create_task(read_events(two, 4, {}))
    r = await one.post("/v1/reports", post("man collapsed outside", "s1", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    got = await reader  # made on instance one, streamed by instance two
    first, second = got[0], got[-1]
    assert first["event"] == "incident_opened"
    assert first["data"]["incident_id"] == r.body["incident_id"]  # type: ignore[index]
    # Nobody on duty: both waves are skipped and the control room gets it.
    assert [e["event"] for e in got[1:]] == ["wave_skipped", "wave_skipped", "escalated"]
    await one.post("/v1/reports", post("my son hasn't come home", "s2", lat=WHITEHALL[0] + 0.01,
                                       lon=WHITEHALL[1]), role="ingest")
    resumed = await read_events(two, 1, {"Last-Event-ID": str(second["id"])})
    assert resumed[0]["event"] == "incident_opened" and resumed[0]["id"] == second["id"] + 1  # type: ignore[operator]


async def test_event_stream_rejects_a_bad_resume_id(api: Api) -> None:
    r = await api.get("/v1/events", role="control_room", headers={"Last-Event-ID": "abc"})
    assert r.status == 422 and r.body["errors"][0]["field"] == "Last-Event-ID"
