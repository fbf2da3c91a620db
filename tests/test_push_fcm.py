"""The real firebase-admin SDK against a fake FCM server on 127.0.0.1.

Nothing is mocked here: the SDK builds and sends real HTTP requests; only Google's servers
are replaced by tests/fake_fcm.py, which answers the way FCM does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from server import keys, web_push
from server.adapters.fcm_transport import AiohttpFcmClient
from server.adapters.push_fcm import FcmPush
from server.settings import Settings, SettingsError
from tests.alerting_world import (
    WHITEHALL,
    neighbourhood,
    officer_on_duty,
    policy_file,
    post,
    token_of,
)
from tests.conftest import Api, ApiFactory, eventually
from tests.fake_fcm import FakeFcm

PROJECT = "bluelight-test"


@pytest.fixture
async def fcm_api(make_api: ApiFactory, settings: Settings,
                  fcm: tuple[FakeFcm, str]) -> Api:
    return await make_api(settings=replace(
        settings, push="fcm", fcm_project_id=PROJECT, fcm_endpoint=fcm[1],
        fcm_access_token="test-access-token"))


async def alert_one(api: Api, ext: str = "r1") -> str:
    await neighbourhood(api)
    await officer_on_duty(api, "pc1", 51.5050, -0.1265)
    r = await api.post("/v1/reports", post("he has a knife", ext, lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    return str(r.body["incident_id"])


async def deliveries(api: Api, iid: str, wait: bool = True) -> list[dict[str, object]]:
    if wait:
        await api.app[keys.TASKS].idle()
    detail = (await api.get(f"/v1/incidents/{iid}", role="control_room")).body
    return [d for d in detail["alerts"][0]["deliveries"] if d["kind"] == "alert"]


async def test_the_sdk_still_keeps_its_url_where_we_point_it() -> None:
    push = FcmPush(project_id=PROJECT, access_token="x", endpoint="http://127.0.0.1:9")
    # If a firebase-admin upgrade renames the private attribute, this fails loudly.
    assert push._service._fcm_url == f"http://127.0.0.1:9/v1/projects/{PROJECT}/messages:send"
    # ... and sends through the attribute our transport replaced (fcm_transport.py).
    assert isinstance(push._service._async_client, AiohttpFcmClient)
    await push.close()


async def test_success_records_the_fcm_message_id(fcm_api: Api,
                                                  fcm: tuple[FakeFcm, str]) -> None:
    fake, _ = fcm
    iid = await alert_one(fcm_api)
    [d] = await deliveries(fcm_api, iid)
    assert d["status"] == "sent" and str(d["message_id"]).startswith(f"projects/{PROJECT}/")
    [got] = fake.to(token_of("pc1"))
    assert got.authorization == "Bearer test-access-token"
    message = got.message
    assert message["data"]["incident_id"] == iid and message["data"]["priority"] == "P1"
    assert message["android"]["priority"] == "high" and message["android"]["ttl"].endswith("s")
    assert message["apns"]["headers"]["apns-priority"] == "10"
    assert message["apns"]["payload"]["aps"]["interruption-level"] == "time-sensitive"


async def test_unregistered_token_is_removed(fcm_api: Api, fcm: tuple[FakeFcm, str]) -> None:
    fake, _ = fcm
    fake.scripts[token_of("pc1")] = ["unregistered"]
    iid = await alert_one(fcm_api)
    [d] = await deliveries(fcm_api, iid)
    assert d["status"] == "failed" and d["error_code"] == "UnregisteredError"
    me = (await fcm_api.get("/v1/me", role="officer", sub="pc1")).body
    assert me["devices"] == []


async def test_503_is_one_attempt_and_our_backoff_sends_it_again(
        fcm_api: Api, fcm: tuple[FakeFcm, str]) -> None:
    fake, _ = fcm
    fake.scripts[token_of("pc1")] = ["503", "ok"]
    iid = await alert_one(fcm_api)
    [d] = await deliveries(fcm_api, iid)
    assert d["status"] == "sent"
    # Two requests, two recorded attempts: the SDK did not retry behind our back (it
    # would have sent it again itself, and the record would show one attempt).
    assert len(fake.to(token_of("pc1"))) == 2 and d["attempts"] == 2


async def test_429_is_retried_after_retry_after(fcm_api: Api, fcm: tuple[FakeFcm, str]) -> None:
    fake, _ = fcm
    fake.scripts[token_of("pc1")] = ["429:1", "ok"]
    iid = await alert_one(fcm_api)
    [d] = await deliveries(fcm_api, iid)
    assert d["status"] == "sent" and d["attempts"] == 2
    first, second = fake.to(token_of("pc1"))
    assert second.at - first.at >= 0.9  # Retry-After: 1 was honoured


async def test_failing_pushes_never_stall_escalation(make_api: ApiFactory, settings: Settings,
                                                     fcm: tuple[FakeFcm, str],
                                                     tmp_path: Path) -> None:
    fake, endpoint = fcm
    waves = [{"radius_m": 5000, "officers": 1, "ack_timeout_s": 0.3}]
    api = await make_api(settings=replace(
        settings, push="fcm", fcm_project_id=PROJECT, fcm_endpoint=endpoint,
        fcm_access_token="t", sweep_s=0.1, policy_file=policy_file(tmp_path, waves)))
    fake.scripts[token_of("pc1")] = ["429:30"] * 5  # FCM throttles us for longer than the window
    iid = await alert_one(api)

    async def escalated() -> bool:
        got = await api.get(f"/v1/incidents/{iid}", role="admin")
        return bool(got.body["incident"]["status"] == "escalated")

    await eventually(escalated, within=5)
    # The "alert closed" notice keeps retrying in the background (Retry-After 30 s); the
    # alert's own delivery gave up when the ack window could not fit the wait.
    [d] = await deliveries(api, iid, wait=False)
    assert d["status"] == "failed" and d["error_code"] == "QuotaExceededError"


async def two_officers_alerted(api: Api) -> str:
    await neighbourhood(api)
    await officer_on_duty(api, "pc1", 51.5050, -0.1265)
    await officer_on_duty(api, "pc2", 51.5051, -0.1265)
    r = await api.post("/v1/reports", post("he has a knife", "two", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    return str(r.body["incident_id"])


async def by_officer(api: Api, iid: str) -> dict[str, dict[str, object]]:
    return {str(d["officer_id"]): d for d in await deliveries(api, iid, wait=False)}


async def test_one_devices_retry_after_never_holds_back_another(
        make_api: ApiFactory, settings: Settings, fcm: tuple[FakeFcm, str],
        tmp_path: Path) -> None:
    fake, url = fcm
    waves = [{"radius_m": 1000, "officers": 2, "ack_timeout_s": 120}]
    api = await make_api(settings=replace(
        settings, push="fcm", fcm_project_id=PROJECT, fcm_endpoint=url,
        fcm_access_token="test-access-token", policy_file=policy_file(tmp_path, waves)))
    fake.scripts[token_of("pc1")] = ["429:60", "ok"]   # come back in a minute
    fake.scripts[token_of("pc2")] = ["429:0", "ok"]    # try again now
    iid = await two_officers_alerted(api)

    async def pc2_sent() -> bool:
        return (await by_officer(api, iid)).get("pc2", {}).get("status") == "sent"

    await eventually(pc2_sent, within=5)   # one wait for all would have been 60 s
    assert (await by_officer(api, iid))["pc1"]["status"] == "retrying"
    assert len(fake.to(token_of("pc1"))) == 1


async def test_a_hanging_device_costs_its_timeout_and_delays_nobody(
        make_api: ApiFactory, settings: Settings, fcm: tuple[FakeFcm, str],
        tmp_path: Path) -> None:
    fake, url = fcm
    push = FcmPush(project_id=PROJECT, access_token="test-access-token", endpoint=url,
                   send_timeout_s=1.0)
    waves = [{"radius_m": 1000, "officers": 2, "ack_timeout_s": 120}]
    api = await make_api(settings=replace(settings, policy_file=policy_file(tmp_path, waves)),
                         push=push)
    fake.scripts[token_of("pc1")] = ["hang:30"]
    iid = await two_officers_alerted(api)

    async def both_recorded() -> bool:
        got = await by_officer(api, iid)
        return got.get("pc2", {}).get("status") == "sent" and got.get("pc1", {}).get(
            "error_code") == "timeout"

    await eventually(both_recorded, within=5)
    first_pc1, first_pc2 = fake.to(token_of("pc1"))[0], fake.to(token_of("pc2"))[0]
    assert abs(first_pc2.at - first_pc1.at) < 0.5   # pc2's push went out at once


WEB_APP = "https://bluelight.example.org/app/"
VAPID = "B" + "A" * 86   # 65 bytes, base64url, starting 0x04: the shape of a public key
WEB_TOKEN = "dIr3-web:APA91b" + "w" * 60   # what the Firebase JS SDK's getToken() returns


def web_config(**overrides: object) -> dict[str, object]:
    return {"apiKey": "AIza-test", "projectId": PROJECT, "messagingSenderId": "1234",
            "appId": "1:1234:web:abcd", "vapidKey": VAPID, "appUrl": WEB_APP, **overrides}


async def web_officer_alerted(api: Api, *others: str) -> tuple[str, str]:
    """pc1's browser is registered for web push; a P1 alerts it (and `others` on duty
    beside it). (incident id, web token)"""
    await neighbourhood(api)
    for oid in ("pc1", *others):
        await officer_on_duty(api, oid, 51.5050, -0.1265)
    r = await api.put(f"/v1/me/devices/{WEB_TOKEN}", {"platform": "web"}, role="officer",
                      sub="pc1")
    assert r.status == 201, r.body
    r = await api.post("/v1/reports", post("he has a knife", "web", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    return str(r.body["incident_id"]), WEB_TOKEN


def fcm_web_settings(settings: Settings, url: str, tmp_path: Path, **config: object) -> Settings:
    waves = [{"radius_m": 1000, "officers": 2, "ack_timeout_s": 90}]
    return replace(settings, push="fcm", fcm_project_id=PROJECT, fcm_endpoint=url,
                   fcm_access_token="t", fcm_web=web_push.parse(web_config(**config)),
                   policy_file=policy_file(tmp_path, waves))


async def test_a_web_token_gets_a_notification_that_opens_the_app_within_the_window(
        make_api: ApiFactory, settings: Settings, fcm: tuple[FakeFcm, str],
        tmp_path: Path) -> None:
    fake, url = fcm
    api = await make_api(settings=fcm_web_settings(settings, url, tmp_path))
    iid, web = await web_officer_alerted(api)
    assert [d["status"] for d in await deliveries(api, iid)] == ["sent", "sent"]  # web, android
    [got] = fake.to(web)
    message = got.message
    assert message["notification"]["title"].startswith("P1 ")
    webpush = message["webpush"]
    assert webpush["headers"]["Urgency"] == "high"
    assert 80 <= int(webpush["headers"]["TTL"]) <= 90      # the ack window, no longer
    assert webpush["notification"] == {"tag": message["data"]["alert_id"],
                                       "requireInteraction": True, "renotify": True}
    assert webpush["fcm_options"] == {"link": WEB_APP}


async def test_a_web_token_is_told_quietly_when_another_officer_takes_the_alert(
        make_api: ApiFactory, settings: Settings, fcm: tuple[FakeFcm, str],
        tmp_path: Path) -> None:
    fake, url = fcm
    api = await make_api(settings=fcm_web_settings(settings, url, tmp_path, appUrl=None))
    await web_officer_alerted(api, "pc2")
    await api.app[keys.TASKS].idle()
    [alert] = (await api.get("/v1/me/alerts", role="officer", sub="pc2")).body["items"]
    r = await api.post(f"/v1/alerts/{alert['id']}/ack", role="officer", sub="pc2")
    assert r.status == 200, r.body
    await api.app[keys.TASKS].idle()
    first, update = (m.message for m in fake.to(WEB_TOKEN))
    assert first["data"]["type"] == "alert" and "fcm_options" not in first["webpush"]
    assert update["data"] == {"type": "alert_taken", "alert_id": alert["id"],
                              "incident_id": alert["incident_id"], "taken_by": "pc2"}
    # Data only: the app's service worker shows it in the alert's place, quietly.
    assert "notification" not in update and "notification" not in update["webpush"]


async def test_web_push_settings_are_checked_at_start(tmp_path: Path) -> None:
    path = tmp_path / "web.json"
    env = {"BLUELIGHT_PUSH": "fcm", "BLUELIGHT_FCM_PROJECT_ID": PROJECT,
           "BLUELIGHT_FCM_ACCESS_TOKEN": "t", "BLUELIGHT_FCM_WEB_CONFIG": str(path)}
    path.write_text(json.dumps(web_config()))
    assert Settings.from_env(env).fcm_web == web_push.parse(web_config())
    for bad, says in ((web_config(vapidKey="not-a-key"), "vapidKey"),
                      (web_config(appId=""), "appId"),
                      (web_config(appUrl="http://plain.example/app/"), "appUrl"),
                      (web_config(projectId="another"), "projectId")):
        path.write_text(json.dumps(bad))
        with pytest.raises(SettingsError, match=says):
            Settings.from_env(env)
    path.write_text(json.dumps(web_config()))
    with pytest.raises(SettingsError, match="BLUELIGHT_PUSH=fcm"):
        Settings.from_env({**env, "BLUELIGHT_PUSH": "log"})
