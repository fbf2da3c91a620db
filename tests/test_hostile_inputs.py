"""Regression (issue 14, item 5): hostile input got 500s; each must be a clear 4xx and change
nothing. (Non-finite numbers and batches are in test_nonfinite.py.)"""

from __future__ import annotations

import json
import math

import pytest

from tests.alerting_world import post
from tests.conftest import Api, feature, square

JSON = {"Content-Type": "application/json"}
SURROGATE = '"\\ud800"'  # a lone surrogate, as JSON writes it: valid JSON, not valid text


async def send(api: Api, method: str, path: str, raw: str, role: str) -> tuple[int, object]:
    r = await api.call(method, path, role=role, data=raw, headers=JSON)
    return r.status, r.body


@pytest.mark.parametrize(("method", "path", "role", "body", "field"), [
    ("POST", "/v1/reports", "ingest", post("hi", "s1"), "source"),
    ("POST", "/v1/reports", "ingest", post("hi", "s2"), "external_id"),
    ("POST", "/v1/reports/deletions", "ingest", {"source": "x", "external_id": "1"},
     "external_id"),
    ("PUT", "/v1/officers/pc-9", "admin", {"name": "A", "callsign": "B"}, "name"),
    ("PUT", "/v1/neighbourhoods/n1", "admin", feature(square(-0.1, 51.5), "N"), "properties"),
])
async def test_lone_surrogates_are_refused(api: Api, method: str, path: str, role: str,
                                           body: dict[str, object], field: str) -> None:
    if field == "properties":
        raw = json.dumps(body).replace('"name": "N"', f'"name": {SURROGATE}')
    else:
        raw = json.dumps({**body, field: "PLACEHOLDER"}).replace('"PLACEHOLDER"', SURROGATE)
    status, problem = await send(api, method, path, raw, role)
    assert status == 422 and "surrogate" in json.dumps(problem), problem


async def test_a_lone_surrogate_in_one_batch_item_rejects_that_item_only(api: Api) -> None:
    good = json.dumps(post("lovely day", "b0"))
    bad = json.dumps(post("x", "b1")).replace('"b1"', SURROGATE)
    r = await api.call("POST", "/v1/reports/batch", role="ingest", data=f"[{good},{bad}]",
                       headers=JSON)
    assert r.status == 200 and r.body["counts"] == {"created": 1, "duplicate": 0,
                                                    "rejected": 1}


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                  "1900-01-01T00:00:00Z"])
async def test_extreme_dates_are_refused(api: Api, when: str) -> None:
    r = await api.post("/v1/reports", {**post("hi", "d1"), "posted_at": when}, role="ingest")
    assert r.status == 422 and r.body["errors"][0]["field"] == "posted_at", r.body


@pytest.mark.parametrize(("method", "path", "role"), [
    ("POST", "/v1/reports", "ingest"), ("POST", "/v1/reports/batch", "ingest"),
    ("PUT", "/v1/me/location", "officer"), ("PUT", "/v1/officers/pc-1", "admin")])
async def test_absurd_nesting_is_refused_on_every_json_route(api: Api, method: str, path: str,
                                                            role: str) -> None:
    status, problem = await send(api, method, path, "[" * 10_000 + "]" * 10_000, role)
    assert status == 422, problem
    status, problem = await send(api, method, path, '{"a":' * 200 + "1" + "}" * 200, role)
    assert status == 422, problem


@pytest.mark.parametrize("after", ["²", "٣", "1" * 30, "-1", "1e3"])
async def test_event_ids_must_be_plain_numbers(api: Api, after: str) -> None:
    r = await api.call("GET", "/v1/events", role="control_room",
                       headers={"Last-Event-ID": after.encode("utf-8").decode("latin-1")})
    assert r.status in (400, 422), r.body
    r = await api.get(f"/v1/events?after={after}", role="control_room")
    assert r.status in (400, 422), r.body


async def test_source_names_are_normalised_so_posts_stay_unique(api: Api) -> None:
    """Issue 14, item 11: zero-width characters in `source` bypassed de-duplication."""
    first = await api.post("/v1/reports", post("lovely day", "n1"), role="ingest")
    assert first.status == 201
    for variant in ("X", " x", "x\u200b", "\ufeffx"):
        again = await api.post("/v1/reports", {**post("lovely day", "n1"), "source": variant},
                               role="ingest")
        assert again.status == 200 and again.body["id"] == first.body["id"], variant
    gone = await api.post("/v1/reports/deletions", {"source": "X\u200d", "external_id": "n1"},
                          role="ingest")
    assert gone.body == {"found": True, "id": first.body["id"]}
    empty = await api.post("/v1/reports", {**post("hi", "n2"), "source": "\u200b"},
                           role="ingest")
    assert empty.status == 422 and empty.body["errors"][0]["field"] == "source"


async def test_a_huge_field_is_not_echoed_back(api: Api) -> None:
    r = await api.post("/v1/reports", {**post("hi", "h1"), "source": "s" * 200_000},
                       role="ingest")
    assert r.status == 422 and len(json.dumps(r.body)) < 2_000, len(json.dumps(r.body))
    assert "longer than 64 characters" in json.dumps(r.body)


async def test_repair_of_a_huge_invalid_shape_is_refused_not_attempted(api: Api) -> None:
    # A 5,000-position self-crossing ring: make_valid's default method took 3.1 GB and 13.5 s.
    ring = [[-0.1 + 0.01 * math.cos(2 * math.pi * i / 5000),
             51.5 + 0.01 * math.sin(14 * math.pi * i / 5000) * (1 + (i % 7) / 7)]
            for i in range(5000)]
    ring.append(ring[0])
    feature = {"type": "Feature", "properties": {"name": "Spiky"},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}
    r = await api.put("/v1/neighbourhoods/spiky?repair=true", feature, role="admin")
    assert r.status == 422 and "too large to repair" in r.body["detail"]
    assert (await api.get("/v1/neighbourhoods/spiky", role="admin")).status == 404


async def test_an_empty_last_event_id_is_refused_not_read_as_zero(api: Api) -> None:
    r = await api.get("/v1/events", role="control_room", headers={"Last-Event-ID": ""})
    assert r.status == 422
