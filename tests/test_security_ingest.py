"""Connector keys, webhook signatures, the audit chain, rate limits and HTTP hardening."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from server import keys
from server.__main__ import main
from server.adapters.sqlite.store import SqliteStore
from server.auth import mint_token
from server.domain.model import Officer, Role
from server.security.signatures import sign
from server.services.retention import Retention
from server.settings import Settings
from tests.alerting_world import WHITEHALL, neighbourhood, post
from tests.conftest import SECRET, Api, ApiFactory


async def new_key(api: Api) -> dict[str, str]:
    r = await api.post("/v1/api-keys", {"name": "x-connector"}, role="admin", sub="root")
    assert r.status == 201 and r.body["key"].startswith("blk_")
    return dict(r.body)


async def test_api_key_ingests_and_revocation_stops_it(api: Api) -> None:
    key = await new_key(api)
    listed = (await api.get("/v1/api-keys", role="admin")).body
    assert "key" not in listed["items"][0] and "signing_secret" not in listed["items"][0]
    headers = {"X-API-Key": key["key"]}
    r = await api.post("/v1/reports", post("lost child", "k1"), headers=headers)
    assert r.status == 201
    r = await api.get("/v1/incidents", headers=headers)
    assert r.status == 403  # a connector can only ingest
    r = await api.post("/v1/reports", post("lost child", "k2"),
                       headers={"X-API-Key": key["key"][:-2] + "xx"})
    assert r.status == 401
    assert (await api.delete(f"/v1/api-keys/{key['id']}", role="admin")).status == 200
    r = await api.post("/v1/reports", post("lost child", "k3"), headers=headers)
    assert r.status == 401 and "revoked" in r.body["detail"]
    assert (await api.post("/v1/api-keys", {"name": "x"}, role="control_room")).status == 403


def signed(key: dict[str, str], body: bytes, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {"X-Bluelight-Key": key["id"], "X-Bluelight-Timestamp": str(ts),
            "X-Bluelight-Signature": sign(key["signing_secret"], ts, body),
            "Content-Type": "application/json"}


async def test_signed_webhook_is_accepted_once_and_forgeries_never_stored(api: Api) -> None:
    key = await new_key(api)
    body = json.dumps(post("he has a knife", "w1")).encode()
    headers = signed(key, body)
    r = await api.call("POST", "/v1/reports", data=body, headers=headers)
    assert r.status == 201
    replay = await api.call("POST", "/v1/reports", data=body, headers=headers)
    assert replay.status == 401 and "replay" in replay.body["detail"]
    forged = json.dumps(post("he has a knife", "w2")).encode()
    r = await api.call("POST", "/v1/reports", data=forged, headers=signed(key, body))
    assert r.status == 401 and "does not match" in r.body["detail"]
    stale = await api.call("POST", "/v1/reports", data=forged,
                           headers=signed(key, forged, int(time.time()) - 600))
    assert stale.status == 401 and "replay window" in stale.body["detail"]
    incidents = (await api.get("/v1/incidents", role="control_room")).body["items"]
    assert len(incidents) == 1  # only the genuine post was stored
    audit = (await api.get("/v1/audit?limit=1000", role="admin")).body["items"]
    assert sum(e["action"] == "auth_rejected" for e in audit) == 3


async def test_audit_chain_is_verified_and_tampering_detected(
        api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    await neighbourhood(api)
    await api.put("/v1/officers/pc1", {"name": "A", "callsign": "A1"}, role="admin", sub="root")
    entries = (await api.get("/v1/audit", role="admin")).body["items"]
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("tester", "PUT /v1/neighbourhoods/{id}"), ("root", "PUT /v1/officers/{id}")]
    assert entries[1]["prev_hash"] == entries[0]["hash"]
    monkeypatch.setenv("BLUELIGHT_STORE", settings.store_url)
    monkeypatch.setenv("BLUELIGHT_JWT_SECRET", settings.jwt_secret or "")
    await api.put("/v1/officers/pc2", {"name": "B", "callsign": "B1"}, role="admin", sub="root")
    assert await asyncio.to_thread(main, ["verify-audit"]) == 0
    out = capsys.readouterr().out
    assert "the chain is intact" in out
    anchor = out.rsplit("--anchor next time): ", 1)[1].strip()
    assert anchor.startswith("3:")
    with sqlite3.connect(settings.sqlite_path) as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit SET doc = doc WHERE seq = 1")
        # Someone with file access drops the guard and edits history.
        db.execute("DROP TRIGGER audit_no_update")
        doc = json.loads(db.execute("SELECT doc FROM audit WHERE seq = 1").fetchone()[0])
        doc["actor"] = "somebody-else"
        db.execute("UPDATE audit SET doc = ? WHERE seq = 1", (json.dumps(doc),))
    assert await asyncio.to_thread(main, ["verify-audit"]) == 1
    assert "entry 1 was edited" in capsys.readouterr().out
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE seq = 2")
    assert await asyncio.to_thread(main, ["verify-audit"]) == 1
    assert "entry 2 is missing" in capsys.readouterr().out
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("DELETE FROM audit WHERE seq = 3")  # cut the tail: the chain alone is fine
    assert await asyncio.to_thread(main, ["verify-audit", "--anchor", anchor]) == 1
    assert "the log was cut" in capsys.readouterr().out


async def test_a_stolen_officer_token_is_rate_limited(make_api: ApiFactory,
                                                     settings: Settings) -> None:
    api = await make_api(settings=replace(settings, rate_limits="officer=1/5,ingest=500/500"))
    statuses = [(await api.get("/v1/me/alerts", role="officer", sub="pc1")).status
                for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    r = await api.get("/v1/me/alerts", role="officer", sub="pc1")
    assert r.body["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
    # Another officer, and the ingest connector in a surge, are not affected.
    assert (await api.get("/v1/me/alerts", role="officer", sub="pc2")).status == 200
    results = await asyncio.gather(*(api.post("/v1/reports", post("lost child", f"s{i}"),
                                              role="ingest") for i in range(100)))
    assert {r.status for r in results} == {201}


async def test_cors_and_security_headers(make_api: ApiFactory, settings: Settings) -> None:
    api = await make_api(settings=replace(settings, cors_origins=("https://dash.police.uk",)))
    pre = await api.client.options("/v1/incidents", headers={
        "Origin": "https://dash.police.uk", "Access-Control-Request-Method": "GET"})
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://dash.police.uk"
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    bad = await api.client.options("/v1/incidents", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert bad.status == 403
    r = await api.get("/v1/incidents", role="control_room",
                      headers={"Origin": "https://dash.police.uk"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://dash.police.uk"
    for header in ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy",
                   "Referrer-Policy", "Strict-Transport-Security"):
        assert header in r.headers
    assert r.headers["Cache-Control"] == "no-store"
    err = await api.get("/v1/incidents")
    assert err.status == 401 and err.headers["X-Content-Type-Options"] == "nosniff"


class SlowStore(SqliteStore):
    """A store whose officer listing hangs (a fake: the timeout is what is under test)."""

    async def list_officers(self) -> list[Officer]:
        await asyncio.sleep(30)
        return []


async def test_slow_requests_time_out(make_api: ApiFactory, settings: Settings) -> None:
    api = await make_api(settings=replace(settings, request_timeout_s=1.0),
                         store=SlowStore(settings.sqlite_path))
    r = await api.get("/v1/officers", role="admin")
    assert r.status == 503 and r.body["code"] == "timeout"


class Later:
    """A clock set in the future (a fake clock: what retention does 31 days on)."""

    def __init__(self, days: float) -> None:
        self.offset = timedelta(days=days)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def test_retention_purges_text_and_author_but_keeps_incidents(api: Api) -> None:
    await neighbourhood(api)
    body = {**post("he has a knife", "r1", lat=WHITEHALL[0], lon=WHITEHALL[1]),
            "author": "@someone"}
    r = await api.post("/v1/reports", body, role="ingest")
    store = api.app[keys.STORE]
    assert await Retention(store, Later(1), days=30).purge() == 0
    assert await Retention(store, Later(31), days=30).purge() == 1
    detail = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="control_room")).body
    report = detail["reports"][0]
    assert report["text"] == "" and report["author"] is None and report["redacted"] == "retention"
    assert detail["incident"]["summary"].startswith("[purged")
    assert detail["incident"]["report_count"] == 1 and detail["incident"]["category"] == "violence"


async def test_source_delete_notice_removes_the_text(api: Api) -> None:
    await neighbourhood(api)
    r = await api.post("/v1/reports", {**post("my dad can't breathe", "d1"), "author": "@a"},
                       role="ingest")
    gone = await api.post("/v1/reports/deletions", {"source": "x", "external_id": "d1"},
                          role="ingest")
    assert gone.body == {"found": True, "id": r.body["id"]}
    detail = (await api.get(f"/v1/incidents/{r.body['incident_id']}", role="control_room")).body
    assert detail["reports"][0]["text"] == "" and detail["reports"][0]["author"] is None
    assert detail["incident"]["summary"].startswith("[removed")
    unknown = await api.post("/v1/reports/deletions", {"source": "x", "external_id": "zz"},
                             role="ingest")
    assert unknown.body == {"found": False, "id": None}


async def test_a_flood_of_forged_signatures_is_cut_off_before_auth(api: Api) -> None:
    """Issue 14, item 9: 3,000 bad signatures each cost a check and an audit row."""
    key = await new_key(api)
    body = json.dumps(post("he has a knife", "f1")).encode()
    forged = {**signed(key, body), "X-Bluelight-Signature": "0" * 64}
    statuses = [(await api.call("POST", "/v1/reports", data=body, headers=forged)).status
                for _ in range(30)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 10, statuses
    r = await api.call("POST", "/v1/reports", data=body, headers=forged)
    assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.body["code"] == "rate_limited"
    # Valid credentials from the same address still work (a proxy may front many clients).
    audit = (await api.get("/v1/audit?limit=1000", role="admin")).body["items"]
    actions = [e["action"] for e in audit]
    assert actions.count("auth_rejected") == 20 and actions.count("auth_rejected_flood") == 1


async def test_credentials_bound_to_sources_cannot_touch_other_connectors_posts(
        api: Api) -> None:
    """Issue 14, item 10: any ingest credential could delete or probe another's posts."""
    r = await api.post("/v1/api-keys", {"name": "masto", "sources": ["Mastodon"]}, role="admin")
    assert r.status == 201 and r.body["sources"] == ["mastodon"]
    masto = {"X-API-Key": r.body["key"]}
    other = await api.post("/v1/reports", post("he has a knife", "b1"), role="ingest")  # "x"
    assert other.status == 201
    mine = await api.post("/v1/reports", {**post("lovely day", "m1"), "source": "mastodon"},
                          headers=masto)
    assert mine.status == 201
    probe = await api.post("/v1/reports", post("he has a knife", "b1"), headers=masto)
    assert probe.status == 403 and probe.body["code"] == "source_not_allowed"
    assert "incident_id" not in probe.body  # the other connector's post is not revealed
    gone = await api.post("/v1/reports/deletions", {"source": "x", "external_id": "b1"},
                          headers=masto)
    assert gone.status == 403
    batch = await api.post("/v1/reports/batch", [
        {**post("hi", "m2"), "source": "MASTODON"}, post("hi", "b2")], headers=masto)
    assert [x["status"] for x in batch.body["results"]] == [201, 403]
    incident = (await api.get(f"/v1/incidents/{other.body['incident_id']}",
                              role="control_room")).body
    assert incident["reports"][0]["text"] == "he has a knife"  # untouched
    bound = mint_token(SECRET, sub="bsky-bot", role=Role.INGEST, now=datetime.now(UTC),
                       ttl_s=600, sources=["bluesky"])
    r = await api.post("/v1/reports", post("hi", "t1"),
                       headers={"Authorization": f"Bearer {bound}"})
    assert r.status == 403 and r.body["code"] == "source_not_allowed"
    listed = (await api.get("/v1/api-keys", role="admin")).body["items"]
    assert [k["sources"] for k in listed] == [["mastodon"]]
