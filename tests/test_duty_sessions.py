"""Duty sessions: pushes go only to the devices of the current session; a token issued for a
session is refused once it ends (a lost phone goes quiet when its officer goes off duty or an
admin ends the session)."""

from __future__ import annotations

from server import keys
from server.adapters.push_log import LogPush
from tests import sse
from tests.alerting_world import WHITEHALL, neighbourhood, post
from tests.conftest import ALL_STORES, Api, ApiFactory

pytestmark = ALL_STORES


def pushed_tokens(api: Api) -> set[str]:
    push = api.app[keys.PUSH]
    assert isinstance(push, LogPush)
    return {m.token for m in push.sent if m.data.get("type") == "alert"}


async def with_session_token(api: Api, method: str, path: str, session_token: str,
                             body: object = None) -> int:
    return (await api.call(method, path, json_body=body,
                           headers={"Authorization": f"Bearer {session_token}"})).status


async def test_a_lost_phone_stops_alerting_and_its_token_is_refused_when_the_session_ends(
        make_api: ApiFactory) -> None:
    api = await make_api()
    await neighbourhood(api)
    await api.put("/v1/officers/pc1", {"name": "pc1", "callsign": "PC1",
                                       "neighbourhood_ids": ["whitehall"]}, role="admin")
    on = await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="pc1")
    session_token = on.body["session_token"]
    lost = "fcm:lost-phone:" + "A" * 30
    assert await with_session_token(api, "PUT", f"/v1/me/devices/{lost}", session_token,
                                    {"platform": "android"}) == 201
    assert await with_session_token(api, "PUT", "/v1/me/location", session_token,
                                    {"lat": WHITEHALL[0], "lon": WHITEHALL[1]}) == 200
    r = await api.post("/v1/reports", post("man collapsed, not breathing", "s1",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    await api.app[keys.TASKS].idle()
    assert pushed_tokens(api) == {lost}

    ended = await api.call("DELETE", "/v1/officers/pc1/session", role="admin")
    assert ended.status == 200 and ended.body["on_duty"] is False
    refused = await api.call("GET", "/v1/me", headers={"Authorization":
                                                       f"Bearer {session_token}"})
    assert refused.status == 401 and "session" in refused.body["detail"]
    assert (await api.get("/v1/me", role="officer", sub="pc1")).status == 200  # sign-in token

    # Back on duty from another phone: only that phone is pushed, never the lost one.
    on = await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="pc1")
    assert on.body["session_token"] != session_token
    new_phone = "fcm:new-phone:" + "B" * 30
    await api.put(f"/v1/me/devices/{new_phone}", {"platform": "android"}, role="officer",
                  sub="pc1")
    await api.put("/v1/me/location", {"lat": WHITEHALL[0], "lon": WHITEHALL[1]},
                  role="officer", sub="pc1")
    assert await with_session_token(api, "GET", "/v1/me", session_token) == 401
    push = api.app[keys.PUSH]
    assert isinstance(push, LogPush)
    push.sent.clear()
    await api.post("/v1/reports", post("fire in the flats, people at the windows", "s2",
                                       lat=WHITEHALL[0] + 0.004, lon=WHITEHALL[1]),
                   role="ingest")
    await api.app[keys.TASKS].idle()
    assert pushed_tokens(api) == {new_phone}
    assert r.status == 201


async def test_going_off_duty_ends_the_session_for_every_token_of_it(
        make_api: ApiFactory) -> None:
    api = await make_api()
    await api.put("/v1/officers/pc2", {"name": "pc2", "callsign": "PC2"}, role="admin")
    on = await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="pc2")
    token = on.body["session_token"]
    assert await with_session_token(api, "GET", "/v1/me/alerts", token) == 200
    assert await with_session_token(api, "PUT", "/v1/me/duty", token,
                                    {"on_duty": False}) == 200
    assert await with_session_token(api, "GET", "/v1/me/alerts", token) == 401
    assert (await api.call("DELETE", "/v1/officers/nobody/session", role="admin")).status == 404
    assert (await api.call("DELETE", "/v1/officers/pc2/session", role="officer",
                           sub="pc2")).status == 403


async def test_a_push_token_moves_to_another_officer_only_once_its_session_has_ended(
        make_api: ApiFactory) -> None:
    """Issue 14 item 11: nobody can silence a colleague's phone by registering its token;
    a shared phone changes hands at sign-out, and its old owner is told."""
    api = await make_api()
    for sub in ("pc1", "pc2"):
        await api.put(f"/v1/officers/{sub}", {"name": sub, "callsign": sub.upper()},
                      role="admin")
        await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub=sub)
    shared = "fcm:shared-phone:" + "S" * 30
    assert (await api.put(f"/v1/me/devices/{shared}", {"platform": "android"},
                          role="officer", sub="pc1")).status == 201

    taken = await api.call("PUT", f"/v1/me/devices/{shared}", json_body={"platform": "android"},
                           role="officer", sub="pc2")

    assert taken.status == 409 and taken.body["code"] == "device_in_use"
    assert (await api.get("/v1/me", role="officer", sub="pc1")).body["device_count"] == 1
    assert (await api.get("/v1/me", role="officer", sub="pc2")).body["device_count"] == 0

    # pc1 signs out at the end of the shift; pc2 picks the phone up.
    await api.put("/v1/me/duty", {"on_duty": False}, role="officer", sub="pc1")
    moved = await api.call("PUT", f"/v1/me/devices/{shared}", json_body={"platform": "android"},
                           role="officer", sub="pc2")

    assert moved.status == 201
    assert (await api.get("/v1/me", role="officer", sub="pc2")).body["device_count"] == 1
    told = await sse.read_events(api, "/v1/me/events?after=0", "officer", "pc1", 1)
    assert told[0]["event"] == "device_moved"
    assert told[0]["data"]["data"] == {"officer_id": "pc1", "to": "pc2",  # type: ignore[index]
                                       "platform": "android"}
