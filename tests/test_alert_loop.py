"""The alert loop end to end through the real server on the embedded store (log push)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from server import keys
from server.adapters.push_log import LogPush
from server.settings import Settings
from tests.alerting_world import (
    WHITEHALL,
    neighbourhood,
    officer_on_duty,
    policy_file,
    post,
    token_of,
)
from tests.conftest import ALL_STORES, Api, ApiFactory
from tests.fake_timer import FakeClock, FakeTimer

pytestmark = ALL_STORES


def pushes(api: Api, kind: str = "alert") -> list[tuple[str, dict[str, str]]]:
    push = api.app[keys.PUSH]
    assert isinstance(push, LogPush)
    return [(m.token, m.data) for m in push.sent if m.data["type"] == kind]


async def idle(api: Api) -> None:
    await api.app[keys.TASKS].idle()


async def test_report_alerts_the_nearest_and_first_ack_wins(api: Api) -> None:
    await neighbourhood(api)
    await officer_on_duty(api, "near", 51.5050, -0.1265)
    await officer_on_duty(api, "mid", 51.5080, -0.1265)
    await officer_on_duty(api, "far", 51.5200, -0.1265)  # ~1.7 km, still in wave 1 radius
    await officer_on_duty(api, "farther", 51.5400, -0.1265)  # ~4 km: wave 2 only
    r = await api.post("/v1/reports", post("he has a knife, please hurry", "t1",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    assert r.status == 201 and r.body["priority"] == "P1" and r.body["category"] == "violence"
    assert r.body["neighbourhood_id"] == "whitehall" and r.body["located_by"] == "coordinates"
    incident_id = r.body["incident_id"]
    detail = (await api.get(f"/v1/incidents/{incident_id}", role="control_room")).body
    assert detail["incident"]["status"] == "alerting" and detail["incident"]["wave"] == 1
    [alert] = detail["alerts"]
    assert alert["recipients"] == ["near", "mid", "far"]
    await idle(api)
    assert sorted(t for t, _ in pushes(api)) == sorted(token_of(o) for o in alert["recipients"])
    data = pushes(api)[0][1]
    assert data["incident_id"] == incident_id and data["priority"] == "P1"
    assert data["neighbourhood"] == "Whitehall" and data["ack_deadline"].endswith("Z")

    mine = (await api.get("/v1/me/alerts", role="officer", sub="mid")).body
    assert [a["id"] for a in mine["items"]] == [alert["id"]]
    r = await api.post(f"/v1/alerts/{alert['id']}/ack", role="officer", sub="mid")
    assert r.status == 200 and r.body["acknowledged_by"] == "mid"
    r = await api.post(f"/v1/alerts/{alert['id']}/ack", role="officer", sub="near")
    assert r.status == 409 and "mid" in r.body["detail"]
    assert r.body["code"] == "already_acknowledged"
    r = await api.post(f"/v1/alerts/{alert['id']}/ack", role="officer", sub="farther")
    assert r.status == 403
    await idle(api)
    assert sorted(t for t, _ in pushes(api, "alert_taken")) == [token_of("far"), token_of("near")]
    detail = (await api.get(f"/v1/incidents/{incident_id}", role="control_room")).body
    assert detail["incident"]["status"] == "acknowledged"
    assert detail["incident"]["acknowledged_by"] == "mid"
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[:3] == ["incident_opened", "alert_sent", "acknowledged"]
    deliveries = detail["alerts"][0]["deliveries"]
    assert {d["status"] for d in deliveries} == {"sent"} and len(deliveries) == 5


async def test_repeat_is_never_stored_twice(api: Api) -> None:
    await neighbourhood(api)
    body = post("my neighbour can't breathe", "dup-1", lat=WHITEHALL[0], lon=WHITEHALL[1])
    first = await api.post("/v1/reports", body, role="ingest")
    again = await api.post("/v1/reports", body, role="ingest")
    assert first.status == 201 and again.status == 200 and again.body["duplicate"] is True
    assert (again.body["id"], again.body["incident_id"]) == (first.body["id"],
                                                             first.body["incident_id"])
    detail = (await api.get(f"/v1/incidents/{first.body['incident_id']}", role="admin")).body
    assert detail["incident"]["report_count"] == 1 and len(detail["reports"]) == 1


async def test_concurrent_acks_have_exactly_one_winner(api: Api) -> None:
    await neighbourhood(api)
    for i in range(3):
        await officer_on_duty(api, f"o{i}", 51.505 + i * 0.001, -0.1265)
    r = await api.post("/v1/reports", post("someone is breaking in downstairs", "race",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    detail = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="admin")).body
    alert_id = detail["alerts"][0]["id"]
    results = await asyncio.gather(*(api.post(f"/v1/alerts/{alert_id}/ack", role="officer",
                                              sub=f"o{i}") for i in range(3)))
    statuses = sorted(x.status for x in results)
    assert statuses == [200, 409, 409]
    winner = next(x.body["acknowledged_by"] for x in results if x.status == 200)
    assert all(winner in x.body["detail"] for x in results if x.status == 409)
    detail = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="admin")).body
    assert [e["kind"] for e in detail["timeline"]].count("acknowledged") == 1


async def test_surge_is_one_incident_and_lone_cry_is_its_own(api: Api) -> None:
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    await officer_on_duty(api, "b", 51.5060, -0.1230)
    surge = [post(f"huge explosion on Whitehall #{i}, smoke everywhere", f"s{i}",
                  lat=WHITEHALL[0] + (i % 5) * 1e-4, lon=WHITEHALL[1]) for i in range(150)]
    lone = post("my dad can't breathe", "lone", lat=WHITEHALL[0] + 0.002, lon=WHITEHALL[1])
    r = await api.post("/v1/reports/batch", [*surge[:100], lone, *surge[100:]], role="ingest")
    assert r.body["counts"] == {"created": 151, "duplicate": 0, "rejected": 0}
    incident_ids = {x["incident_id"] for x in r.body["results"]}
    assert len(incident_ids) == 2
    lone_incident = r.body["results"][100]["incident_id"]
    await idle(api)
    alerted = {d["incident_id"] for _, d in pushes(api)}
    assert alerted == incident_ids  # one alert per incident: the surge did not drown the cry
    assert len(pushes(api)) == 4  # two officers, two incidents
    detail = (await api.get(f"/v1/incidents/{lone_incident}", role="admin")).body
    assert detail["incident"]["category"] == "medical" and detail["incident"]["report_count"] == 1


async def test_unlocated_goes_straight_to_the_control_room(api: Api) -> None:
    await neighbourhood(api)
    r = await api.post("/v1/reports", post("someone on the bridge says goodbye", "u1"),
                       role="ingest")
    assert r.body["neighbourhood_id"] is None and r.body["priority"] == "P1"
    queue = (await api.get("/v1/escalations", role="control_room")).body
    assert [x["incident_id"] for x in queue["items"]] == [r.body["incident_id"]]
    assert queue["items"][0]["incident"]["escalation_reason"] == "the incident has no location"


async def test_place_names_locate_and_dispatch(api: Api) -> None:
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    r = await api.post("/v1/reports", post("fire in the flats near horse guards!", "p1"),
                       role="ingest")
    assert r.body["neighbourhood_id"] == "whitehall" and r.body["located_by"] == "text"
    r2 = await api.post("/v1/reports", {**post("man collapsed", "p2"), "place": "Trafalgar"},
                        role="ingest")
    assert r2.body["located_by"] == "place"
    detail = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="admin")).body
    assert detail["incident"]["status"] == "alerting"
    assert detail["alerts"][0]["recipients"] == ["a"]


async def test_chatter_is_recorded_without_alerting(api: Api) -> None:
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    r = await api.post("/v1/reports", post("this traffic is killing me", "c1", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    assert r.body["priority"] == "P4"
    detail = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="admin")).body
    assert detail["incident"]["status"] == "open" and detail["alerts"] == []
    assert (await api.get("/v1/escalations", role="admin")).body["count"] == 0


async def test_batch_keeps_good_items_and_accepts_ndjson(api: Api) -> None:
    await neighbourhood(api)
    good = post("car crash on whitehall", "b1", lat=WHITEHALL[0], lon=WHITEHALL[1])
    bad = {"source": "x", "text": "missing external id", "posted_at": "yesterday"}
    r = await api.post("/v1/reports/batch", [good, bad], role="ingest")
    assert r.body["counts"] == {"created": 1, "duplicate": 0, "rejected": 1}
    rejected = r.body["results"][1]
    assert rejected["status"] == 422 and {e["field"] for e in rejected["errors"]} >= {
        "external_id", "posted_at"}
    import json

    ndjson = "\n".join(json.dumps(x) for x in [good, post("lost child", "b2")])
    r = await api.call("POST", "/v1/reports/batch", role="ingest", data=ndjson,
                       headers={"Content-Type": "application/x-ndjson"})
    assert r.body["counts"] == {"created": 1, "duplicate": 1, "rejected": 0}


async def test_escalates_wave_by_wave_to_the_control_room(make_api: ApiFactory,
                                                          settings: Settings,
                                                          tmp_path: Path) -> None:
    waves = [{"radius_m": 1000, "officers": 1, "ack_timeout_s": 30},
             {"radius_m": 5000, "officers": 2, "ack_timeout_s": 30,
              "include_supervisors": True}]
    timer = FakeTimer(FakeClock())
    api = await make_api(settings=replace(settings, policy_file=policy_file(tmp_path, waves)),
                         clock=timer.clock, timer=timer)
    await neighbourhood(api)
    await officer_on_duty(api, "near", 51.5050, -0.1265)
    await officer_on_duty(api, "sarge", 51.5100, -0.1265, rank="supervisor")
    await officer_on_duty(api, "far", 51.5300, -0.1265)
    r = await api.post("/v1/reports", post("stabbing outside the pub", "e1", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    iid = r.body["incident_id"]
    await timer.advance(29.9)
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    assert [a["status"] for a in detail["alerts"]] == ["pending"]   # not a moment early
    await timer.advance(30.2)   # wave 1 expires at 30 s, wave 2 at 60 s
    assert timer.fired.count(f"step:{iid}") == 2
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    assert [(a["wave"], a["recipients"], a["status"]) for a in detail["alerts"]] == [
        (1, ["near"], "expired"), (2, ["sarge", "far"], "expired")]
    assert detail["incident"]["escalation_reason"] == "no acknowledgement after wave 2"
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds.count("escalated") == 1 and kinds.count("alert_sent") == 2
    queue = (await api.get("/v1/escalations", role="control_room")).body
    assert [x["incident_id"] for x in queue["items"]] == [iid]
    r = await api.post(f"/v1/escalations/{iid}/take", role="control_room", sub="op1")
    assert r.status == 200 and r.body["taken_by"] == "op1"
    r = await api.post(f"/v1/escalations/{iid}/take", role="control_room", sub="op2")
    assert r.status == 409 and r.body["code"] == "already_taken"
    assert (await api.get("/v1/escalations", role="control_room")).body["count"] == 0
    await idle(api)
    closed = pushes(api, "alert_closed")
    assert {t for t, _ in closed} == {token_of("near"), token_of("sarge"), token_of("far")}


async def test_declines_by_everyone_start_the_next_wave_at_once(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    waves = [{"radius_m": 1000, "officers": 2, "ack_timeout_s": 60},
             {"radius_m": 5000, "officers": 2, "ack_timeout_s": 60}]
    api = await make_api(settings=replace(settings, policy_file=policy_file(tmp_path, waves)))
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    await officer_on_duty(api, "b", 51.5055, -0.1265)
    await officer_on_duty(api, "c", 51.5300, -0.1265)
    r = await api.post("/v1/reports", post("house fire on the corner", "d1", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    iid = r.body["incident_id"]
    alert = (await api.get(f"/v1/incidents/{iid}", role="admin")).body["alerts"][0]
    r = await api.post(f"/v1/alerts/{alert['id']}/decline", {"reason": "on another call"},
                       role="officer", sub="a")
    assert r.status == 200 and r.body["status"] == "pending"
    assert (await api.get("/v1/me/alerts", role="officer", sub="a")).body["count"] == 0
    r = await api.post(f"/v1/alerts/{alert['id']}/decline", role="officer", sub="b")
    assert r.body["status"] == "declined_all"
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    assert [(a["wave"], a["recipients"]) for a in detail["alerts"]] == [(1, ["a", "b"]),
                                                                       (2, ["c"])]


async def test_assign_and_resolve(api: Api) -> None:
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    r = await api.post("/v1/reports", post("someone on the bridge says goodbye", "a1"),
                       role="ingest")
    iid = r.body["incident_id"]
    r = await api.post(f"/v1/incidents/{iid}/assign", {"officer_id": "a"}, role="control_room",
                       sub="op1")
    assert r.status == 200 and r.body["assigned_to"] == "a" and r.body["status"] == "alerting"
    [mine] = (await api.get("/v1/me/alerts", role="officer", sub="a")).body["items"]
    assert mine["kind"] == "assignment"
    assert (await api.post(f"/v1/alerts/{mine['id']}/ack", role="officer", sub="a")).status == 200
    r = await api.post(f"/v1/incidents/{iid}/resolve", {"note": "found safe"},
                       role="control_room", sub="op1")
    assert r.body["status"] == "resolved" and r.body["resolution_note"] == "found safe"
    r = await api.post(f"/v1/incidents/{iid}/resolve", role="control_room")
    assert r.status == 409 and r.body["code"] == "incident_resolved"
    r = await api.post(f"/v1/incidents/{iid}/assign", {"officer_id": "a"}, role="control_room")
    assert r.status == 409 and r.body["code"] == "incident_resolved"
    r = await api.post(f"/v1/incidents/{iid}/assign", {"officer_id": "ghost"},
                       role="control_room")
    assert r.status == 404 and r.body["code"] == "officer_not_found"


async def test_incident_list_filters_and_pages(api: Api) -> None:
    await neighbourhood(api)
    for i in range(5):
        await api.post("/v1/reports", post(f"lost child number {i}", f"l{i}",
                                           lat=WHITEHALL[0] + i * 0.01, lon=WHITEHALL[1]),
                       role="ingest")
    page = (await api.get("/v1/incidents?limit=2", role="control_room")).body
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (await api.get(f"/v1/incidents?limit=10&cursor={page['next_cursor']}",
                          role="control_room")).body
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    assert (await api.get("/v1/incidents?priority=P1", role="admin")).body["items"] == []
    r = await api.get("/v1/incidents?status=bogus", role="admin")
    assert r.status == 422 and r.body["errors"][0]["field"] == "status"
