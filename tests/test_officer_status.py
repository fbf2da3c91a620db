"""Officer status and availability-aware dispatch (issue 12, item 1), through the API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from server.settings import Settings
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, policy_file, post
from tests.conftest import Api, ApiFactory

WAVES = [{"radius_m": 1000, "officers": 1, "ack_timeout_s": 30},
         {"radius_m": 5000, "officers": 1, "ack_timeout_s": 30, "include_committed": True}]


async def world(make_api: ApiFactory, settings: Settings, tmp_path: Path,
                officers: dict[str, float]) -> Api:
    api = await make_api(settings=replace(settings, policy_file=policy_file(tmp_path, WAVES)))
    await neighbourhood(api)
    for oid, lat in officers.items():
        await officer_on_duty(api, oid, lat, -0.1265)
    return api


async def report(api: Api, text: str, ext: str) -> str:
    r = await api.post("/v1/reports", post(text, ext, lat=WHITEHALL[0], lon=WHITEHALL[1]),
                       role="ingest")
    assert r.body["priority"] == "P1", r.body
    return str(r.body["incident_id"])


async def recipients(api: Api, iid: str) -> list[list[str]]:
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    return [a["recipients"] for a in detail["alerts"]]


async def ack(api: Api, iid: str, oid: str) -> None:
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    alert = next(a for a in detail["alerts"] if a["status"] == "pending")
    assert (await api.post(f"/v1/alerts/{alert['id']}/ack", role="officer", sub=oid)
            ).status == 200


async def status_of(api: Api, oid: str) -> dict[str, object]:
    body: dict[str, object] = (await api.get(f"/v1/officers/{oid}", role="admin")).body
    return body


async def test_a_committed_officer_is_passed_over_while_a_free_one_is_in_range(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    api = await world(make_api, settings, tmp_path, {"closest": 51.5046, "next": 51.5060})
    first = await report(api, "he has a knife and he's threatening people", "a1")
    assert await recipients(api, first) == [["closest"]]
    await ack(api, first, "closest")
    assert (await status_of(api, "closest"))["status"] == "committed"
    second = await report(api, "my neighbour collapsed and isn't breathing", "b1")
    assert second != first
    assert await recipients(api, second) == [["next"]]   # not the nearer, busy officer


async def test_a_wave_that_includes_committed_officers_is_the_last_resort(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    api = await world(make_api, settings, tmp_path, {"only": 51.5046})
    first = await report(api, "he has a knife and he's threatening people", "a2")
    await ack(api, first, "only")
    second = await report(api, "my neighbour collapsed and isn't breathing", "b2")
    # Wave 1 finds nobody free and is skipped; wave 2 may take a committed officer.
    assert await recipients(api, second) == [["only"]]
    kinds = [e["kind"] for e in (await api.get(f"/v1/incidents/{second}", role="admin")
                                 ).body["timeline"]]
    assert "wave_skipped" in kinds


async def test_status_changes_go_on_the_timeline_and_resolving_frees_the_officer(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    api = await world(make_api, settings, tmp_path, {"pc1": 51.5046, "pc2": 51.5060})
    r = await api.put("/v1/me/status", {"status": "on_scene"}, role="officer", sub="pc1")
    assert r.status == 409 and r.body["code"] == "no_incident"
    r = await api.put("/v1/me/status", {"status": "committed"}, role="officer", sub="pc1")
    assert r.status == 409 and r.body["code"] == "status_not_settable"
    iid = await report(api, "he has a knife and he's threatening people", "a3")
    await ack(api, iid, "pc1")
    r = await api.put("/v1/me/status", {"status": "on_scene"}, role="officer", sub="pc1")
    assert r.status == 200 and r.body["status"] == "on_scene"
    assert r.body["status_incident_id"] == iid
    assert (await api.post(f"/v1/incidents/{iid}/resolve", {"outcome": "emergency"},
                           role="control_room")).status == 200
    assert (await status_of(api, "pc1"))["status"] == "available"
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    assert "on_scene" in [e["kind"] for e in detail["timeline"]]
    times = detail["response_times"]
    assert times["to_acknowledge_s"] is not None and times["to_scene_s"] is not None
    assert 0 <= times["to_acknowledge_s"] <= times["to_scene_s"]

    # Unavailable (a meal, court) is never alerted, even when nearest and free otherwise.
    await api.put("/v1/me/status", {"status": "unavailable"}, role="officer", sub="pc1")
    other = await report(api, "my neighbour collapsed and isn't breathing", "b3")
    assert await recipients(api, other) == [["pc2"]]
