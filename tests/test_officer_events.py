"""GET /v1/me/events: an officer's own alerts and their fate, nothing else, resumable;
and `stream` registrations, which make an officer reachable without a push token."""

from __future__ import annotations

import asyncio

from tests import sse
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, post
from tests.conftest import Api, ApiFactory


async def officer_events(api: Api, sub: str, n: int,
                         headers: dict[str, str] | None = None) -> list[dict[str, object]]:
    """Open the officer's SSE stream and read n events."""
    return await sse.read_events(api, "/v1/me/events", "officer", sub, n, headers)


async def report(api: Api, text: str, ext: str, lat: float = WHITEHALL[0]) -> str:
    r = await api.post("/v1/reports", post(text, ext, lat=lat, lon=WHITEHALL[1]), role="ingest")
    assert r.status == 201, r.body
    return str(r.body["incident_id"])


async def test_an_officer_sees_their_alert_and_who_took_it_but_no_one_elses(
        make_api: ApiFactory) -> None:
    api = await make_api()
    await neighbourhood(api)
    await officer_on_duty(api, "pc1", 51.5046, -0.1263)
    await officer_on_duty(api, "pc2", 51.5047, -0.1263)
    mine = asyncio.create_task(officer_events(api, "pc2", 2))
    iid = await report(api, "a man has collapsed in the street and isn't breathing", "e1")
    alerts = (await api.get("/v1/me/alerts", role="officer", sub="pc1")).body["items"]
    assert (await api.post(f"/v1/alerts/{alerts[0]['id']}/ack", role="officer",
                           sub="pc1")).status == 200
    got = await mine
    assert [e["event"] for e in got] == ["alert_sent", "acknowledged"]
    sent, taken = got[0]["data"], got[1]["data"]
    assert isinstance(sent, dict) and isinstance(taken, dict)
    assert sent["incident_id"] == iid and taken["actor"] == "pc1"
    assert "recipients" not in sent["data"]       # other officers are not named
    # An incident whose alert never went to pc2 does not reach pc2's stream; pc2's next does.
    resumed = asyncio.create_task(officer_events(api, "pc2", 1,
                                                 {"Last-Event-ID": str(got[1]["id"])}))
    await api.put("/v1/me/status", {"status": "on_scene"}, role="officer", sub="pc1")
    await api.put("/v1/me/status", {"status": "available"}, role="officer", sub="pc1")
    second = await report(api, "someone is on the bridge railing saying goodbye", "e2",
                          lat=51.5060)
    assert second != iid
    nxt = await resumed
    # pc1's on scene / cleared events belong to an incident pc2 was alerted for: shown.
    assert nxt[0]["event"] == "on_scene"


async def test_a_stream_registration_makes_an_officer_alertable_and_is_never_pushed(
        make_api: ApiFactory) -> None:
    api = await make_api()
    await neighbourhood(api)
    await api.put("/v1/officers/pc9", {"name": "pc9", "callsign": "PC9"}, role="admin")
    await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub="pc9")
    await api.put("/v1/me/location", {"lat": 51.5046, "lon": -0.1263}, role="officer", sub="pc9")
    r = await api.put("/v1/me/devices/stream:abc12345", {"platform": "stream"}, role="officer",
                      sub="pc9")
    assert r.status == 201 and r.body["platform"] == "stream"
    iid = await report(api, "my neighbour is screaming and there's a man with a knife", "e3")
    detail = (await api.get(f"/v1/incidents/{iid}", role="control_room")).body
    assert detail["incident"]["status"] == "alerting"
    assert detail["alerts"][0]["recipients"] == ["pc9"]
    assert detail["alerts"][0]["deliveries"] == []     # nothing is pushed to a stream
