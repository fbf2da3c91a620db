"""Officer routes (admin, control room) and the officer's own /v1/me routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import Api, feature, square

FCM_TOKEN = "fcm-token:APA91b-" + "x" * 140


async def setup_officer(api: Api, oid: str = "pc-1") -> None:
    await api.put("/v1/neighbourhoods/soho", feature(square(-0.14, 51.51), "Soho"), role="admin")
    r = await api.put(f"/v1/officers/{oid}", {"name": "Ada Lovelace", "callsign": "CW-12",
                                               "neighbourhood_ids": ["soho"]}, role="admin")
    assert r.status == 201, r.body


async def test_admin_creates_and_updates_officer(api: Api) -> None:
    await setup_officer(api)
    r = await api.put("/v1/officers/pc-1", {"name": "Ada", "callsign": "CW-12",
                                            "rank": "supervisor"}, role="admin")
    assert r.status == 200 and r.body["rank"] == "supervisor" and r.body["neighbourhood_ids"] == []
    r = await api.get("/v1/officers/pc-1", role="admin")
    assert r.body["name"] == "Ada" and r.body["on_duty"] is False and r.body["location"] is None
    r = await api.get("/v1/officers/nobody", role="admin")
    assert r.status == 404 and r.body["code"] == "officer_not_found"


async def test_unknown_neighbourhood_is_rejected(api: Api) -> None:
    r = await api.put("/v1/officers/pc-1", {"name": "A", "callsign": "C",
                                            "neighbourhood_ids": ["atlantis"]}, role="admin")
    assert r.status == 422 and "atlantis" in r.body["errors"][0]["message"]


async def test_duty_location_and_list_for_control_room(api: Api) -> None:
    await setup_officer(api)
    r = await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="pc-1")
    assert r.status == 200 and r.body["on_duty"] is True and r.body["duty_changed_at"]
    now = datetime.now(UTC)
    r = await api.put("/v1/me/location", {"lat": 51.515, "lon": -0.135, "accuracy_m": 8,
                                          "recorded_at": now.isoformat()},
                      role="officer", sub="pc-1")
    assert r.status == 200 and r.body["applied"] is True
    stale = (now - timedelta(minutes=1)).isoformat()
    r = await api.put("/v1/me/location", {"lat": 1, "lon": 1, "recorded_at": stale},
                      role="officer", sub="pc-1")
    assert r.body["applied"] is False and r.body["location"]["lat"] == 51.515
    r = await api.get("/v1/officers", role="control_room")
    [officer] = r.body["items"]
    assert officer["on_duty"] is True and officer["location"]["accuracy_m"] == 8
    assert 0 <= officer["location"]["age_s"] < 60


async def test_location_validation(api: Api) -> None:
    await setup_officer(api)
    r = await api.put("/v1/me/location", {"lat": 100, "lon": 0}, role="officer", sub="pc-1")
    assert r.status == 422 and r.body["errors"][0]["field"] == "lat"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await api.put("/v1/me/location", {"lat": 1, "lon": 1, "recorded_at": future},
                      role="officer", sub="pc-1")
    assert r.status == 422 and r.body["errors"][0]["field"] == "recorded_at"
    r = await api.put("/v1/me/location", {"lat": 1, "lon": 1, "recorded_at": "yesterday"},
                      role="officer", sub="pc-1")
    assert r.status == 422


async def test_me_for_unknown_officer_is_404(api: Api) -> None:
    r = await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="ghost")
    assert r.status == 404 and r.body["code"] == "officer_not_found"


async def test_devices_register_refresh_move_and_delete(api: Api) -> None:
    await setup_officer(api, "pc-1")
    await setup_officer(api, "pc-2")
    path = f"/v1/me/devices/{FCM_TOKEN}"
    r = await api.put(path, {"platform": "android"}, role="officer", sub="pc-1")
    assert r.status == 201 and r.body["token"] == FCM_TOKEN
    r = await api.put(path, {"platform": "android"}, role="officer", sub="pc-1")
    assert r.status == 200
    r = await api.put(path, {"platform": "ios"}, role="officer", sub="pc-2")
    assert r.status == 201
    r = await api.get("/v1/me", role="officer", sub="pc-1")
    assert r.body["devices"] == [] and r.body["device_count"] == 0
    r = await api.get("/v1/me", role="officer", sub="pc-2")
    assert [d["platform"] for d in r.body["devices"]] == ["ios"]
    r = await api.delete(path, role="officer", sub="pc-1")
    assert r.status == 404 and r.body["code"] == "device_not_found"
    r = await api.delete(path, role="officer", sub="pc-2")
    assert r.status == 204


async def test_a_device_registered_off_duty_joins_the_next_session_and_leaves_with_it(
        api: Api) -> None:
    await setup_officer(api)
    await api.put(f"/v1/me/devices/{FCM_TOKEN}", {"platform": "web"}, role="officer", sub="pc-1")
    on = await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="pc-1")
    assert on.body["device_count"] == 1 and on.body["session_id"].startswith("dut_")
    r = await api.put("/v1/me/duty", {"on_duty": False}, role="officer", sub="pc-1")
    assert r.body["on_duty"] is False and r.body["device_count"] == 0
    assert r.body["session_id"] is None
    me = (await api.get("/v1/me", role="officer", sub="pc-1")).body
    assert [d["token"] for d in me["devices"]] == [FCM_TOKEN]    # still registered
    again = await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="pc-1")
    assert again.body["device_count"] == 0   # it belonged to the last session: register anew


async def test_bad_device_token_and_platform(api: Api) -> None:
    await setup_officer(api)
    r = await api.put("/v1/me/devices/short", {"platform": "android"}, role="officer",
                      sub="pc-1")
    assert r.status == 422 and r.body["errors"][0]["field"] == "token"
    r = await api.put(f"/v1/me/devices/{FCM_TOKEN}", {"platform": "nokia"}, role="officer",
                      sub="pc-1")
    assert r.status == 422 and r.body["errors"][0]["field"] == "platform"
