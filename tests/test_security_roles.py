"""Least privilege: every role against every route, read from the app and openapi.yaml."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from server.http.openapi import HTTP_METHODS, load_spec
from server.settings import Settings
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, post
from tests.conftest import Api, ApiFactory, feature, square

ROLES = ["admin", "control_room", "officer", "ingest"]


def operations() -> list[tuple[str, str, list[str]]]:
    spec = load_spec()
    return [(m.upper(), p, op["x-roles"]) for p, item in spec["paths"].items()
            for m, op in item.items() if m in HTTP_METHODS]


@pytest.fixture
async def roomy(make_api: ApiFactory, settings: Settings) -> Api:
    """An app whose rate limits do not get in the way of sweeping every route."""
    return await make_api(settings=replace(
        settings, rate_limits="ingest=1000/1000,control_room=1000/1000,admin=1000/1000,"
                              "officer=1000/1000,anonymous=1000/1000,auth_failures=1000/1000"))


async def test_every_role_against_every_route(roomy: Api) -> None:
    served = {(r.method, r.resource.canonical) for r in roomy.app.router.routes()
              if r.resource is not None and r.method != "HEAD"}
    ops = operations()
    assert {(m, p) for m, p, _ in ops} == served
    for method, template, allowed in ops:
        path = re.sub(r"\{[^}]+\}", "nonexistent-1", template)
        body = {} if method in ("POST", "PUT") else None
        if not template.startswith("/v1"):
            continue
        anonymous = await roomy.call(method, path, json_body=body)
        assert anonymous.status == 401, (method, template)
        for role in ROLES:
            if template in ("/v1/events", "/v1/me/events") and role in allowed:
                continue  # a stream: reading it is covered in test_restart_and_sse and
                #          test_officer_events
            r = await roomy.call(method, path, role=role, json_body=body)
            if role in allowed:
                assert r.status not in (401, 403), (method, template, role, r.body)
            else:
                assert r.status == 403 and r.body["code"] == "forbidden", (method, template,
                                                                           role)


async def test_officer_cannot_act_on_someone_elses_alert(api: Api) -> None:
    await neighbourhood(api)
    await officer_on_duty(api, "mine", 51.5050, -0.1265)
    await officer_on_duty(api, "other", 51.6000, -0.1265)  # too far to be alerted
    r = await api.post("/v1/reports", post("he has a knife", "k", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    detail = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="admin")).body
    alert_id = detail["alerts"][0]["id"]
    for action in ("ack", "decline"):
        r = await api.post(f"/v1/alerts/{alert_id}/{action}", role="officer", sub="other")
        assert r.status == 403 and r.body["code"] == "not_a_recipient"
    after = (await api.get(f"/v1/incidents/{detail['incident']['id']}",
                           role="admin")).body
    assert after["alerts"][0]["status"] == "pending" and after["alerts"][0]["declines"] == []
    assert (await api.get("/v1/me/alerts", role="officer", sub="other")).body["count"] == 0


async def test_control_room_cannot_edit_neighbourhoods_or_officers(api: Api) -> None:
    r = await api.put("/v1/neighbourhoods/x", feature(square(0, 0)), role="control_room")
    assert r.status == 403
    r = await api.put("/v1/officers/x", {"name": "x", "callsign": "x"}, role="control_room")
    assert r.status == 403


async def test_report_content_only_for_roles_that_need_it(api: Api) -> None:
    await neighbourhood(api)
    body = {**post("someone on the bridge says goodbye", "c1"), "author": "@worried_friend",
            "url": "https://social.example/p/1"}
    r = await api.post("/v1/reports", body, role="ingest")
    path = f"/v1/incidents/{r.body['incident_id']}"
    room = (await api.get(path, role="control_room", sub="op7")).body
    assert room["reports"][0]["text"] == body["text"]
    assert room["reports"][0]["author"] == "@worried_friend"
    admin = (await api.get(path, role="admin")).body
    assert "text" not in admin["reports"][0] and "author" not in admin["reports"][0]
    assert admin["incident"]["summary"].startswith("[hidden")
    audit = (await api.get("/v1/audit?limit=1000", role="admin")).body["items"]
    reads = [e for e in audit if e["action"] == "read_report_content"]
    assert [(e["actor"], e["target"]) for e in reads] == [("op7", path)]
