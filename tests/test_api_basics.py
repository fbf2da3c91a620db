"""API basics through a real loopback server: auth, problem+json errors, health."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from server import keys
from server.auth import mint_token
from server.domain.model import Role
from tests.conftest import SECRET, Api, ApiFactory, feature, square


async def test_healthz_is_open(api: Api) -> None:
    r = await api.get("/healthz")
    assert r.status == 200 and r.body == {"status": "ok"}


async def test_readyz_reports_store_and_index(api: Api) -> None:
    r = await api.get("/readyz")
    assert r.status == 200
    assert r.body["geofence"] == {"neighbourhoods": 0, "version": 0}


async def test_readyz_says_when_triage_has_warmed_up(api: Api) -> None:
    warmup = api.app[keys.REPORTS].warmup
    warmup.start()
    await asyncio.wait_for(warmup.finished.wait(), 30)
    r = await api.get("/readyz")
    assert r.status == 200 and r.body["triage"] == "warm"
    warmup.finished.clear()   # as before the warm-up ended: ready all the same
    r = await api.get("/readyz")
    assert r.status == 200 and r.body["triage"] == "warming"
    warmup.finished.set()


async def test_openapi_is_served_open(api: Api) -> None:
    r = await api.get("/openapi.yaml")
    assert r.status == 200 and r.text.startswith("openapi: 3.1")


async def test_missing_token_is_401_problem(api: Api) -> None:
    r = await api.get("/v1/neighbourhoods")
    assert r.status == 401
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.body["code"] == "unauthorized" and r.body["status"] == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_bad_and_expired_tokens_are_401(api: Api) -> None:
    r = await api.get("/v1/neighbourhoods", headers={"Authorization": "Bearer nonsense"})
    assert r.status == 401 and "invalid" in r.body["detail"]
    forged = mint_token("another-secret-" + "y" * 40, sub="x", role=Role.ADMIN,
                        now=datetime.now(UTC), ttl_s=60)
    r = await api.get("/v1/neighbourhoods", headers={"Authorization": f"Bearer {forged}"})
    assert r.status == 401
    old = mint_token(SECRET, sub="x", role=Role.ADMIN,
                     now=datetime.now(UTC) - timedelta(hours=2), ttl_s=60)
    r = await api.get("/v1/neighbourhoods", headers={"Authorization": f"Bearer {old}"})
    assert r.status == 401 and r.body["detail"] == "the token has expired"


async def test_wrong_role_is_403(api: Api) -> None:
    r = await api.put("/v1/neighbourhoods/n1", feature(square(0, 0)), role="control_room")
    assert r.status == 403 and r.body["code"] == "forbidden"
    r = await api.get("/v1/officers", role="ingest")
    assert r.status == 403


async def test_unknown_route_is_404_problem(api: Api) -> None:
    r = await api.get("/v1/nothing-here", role="admin")
    assert r.status == 404 and r.body["code"] == "not_found"


async def test_wrong_method_is_405_problem(api: Api) -> None:
    r = await api.call("PATCH", "/v1/neighbourhoods", role="admin")
    assert r.status == 405 and r.body["code"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"]


async def test_oversize_body_is_413_problem(make_api: ApiFactory, settings) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    api = await make_api(settings=replace(settings, max_body_bytes=2048))
    big = feature(square(0, 0), name="x" * 4000)
    r = await api.put("/v1/neighbourhoods/n1", big, role="admin")
    assert r.status == 413 and r.body["code"] == "payload_too_large"


async def test_wrong_content_type_is_415(api: Api) -> None:
    r = await api.call("PUT", "/v1/neighbourhoods/n1", role="admin", data="name=x",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415 and r.body["code"] == "unsupported_media_type"


async def test_invalid_json_is_422(api: Api) -> None:
    r = await api.call("PUT", "/v1/neighbourhoods/n1", role="admin", data="{not json",
                       headers={"Content-Type": "application/json"})
    assert r.status == 422 and r.body["code"] == "validation_failed"
    assert r.body["errors"][0]["field"] == "body"


async def test_invalid_fields_are_each_named(api: Api) -> None:
    r = await api.put("/v1/officers/o1", {"callsign": 7, "rank": "general", "extra": 1},
                      role="admin")
    assert r.status == 422
    fields = {e["field"] for e in r.body["errors"]}
    assert {"name", "callsign", "rank", "body"} <= fields or {"name", "callsign", "rank"} <= fields
