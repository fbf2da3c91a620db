"""Regression (issue 14, critical): a NaN fix from one officer stopped every dispatch.

Non-finite numbers are refused at the edge, anywhere in a body, and dispatch skips a bad
stored record instead of failing the whole decision."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from server.domain.dispatch import WaveSpec, select_officers
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, post
from tests.conftest import Api
from tests.test_alert_domain import T0, officer

RAW_BODIES = ['{"lat": NaN, "lon": NaN}', '{"lat": 51.5, "lon": Infinity}',
              '{"lat": 51.5, "lon": -0.12, "accuracy_m": -Infinity}',
              '{"lat": 51.5, "lon": -0.12, "accuracy_m": 1e999}']


@pytest.mark.parametrize("raw", RAW_BODIES)
async def test_non_finite_location_is_refused_and_the_last_fix_kept(api: Api, raw: str) -> None:
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    r = await api.call("PUT", "/v1/me/location", role="officer", sub="a", data=raw,
                       headers={"Content-Type": "application/json"})
    assert r.status == 422 and r.body["code"] == "validation_failed", r.body
    assert "not a JSON number" in str(r.body) or "too large" in str(r.body)
    listed = (await api.get("/v1/officers", role="control_room")).body
    fix = next(o for o in listed["items"] if o["id"] == "a")["location"]
    assert fix["lat"] == 51.5050 and fix["lon"] == -0.1265


async def test_non_finite_numbers_are_refused_in_a_single_report(api: Api) -> None:
    body = post("he has a knife", "nan-1", lat=WHITEHALL[0], lon=WHITEHALL[1])
    raw = json.dumps(body).replace(str(WHITEHALL[0]), "NaN")
    r = await api.call("POST", "/v1/reports", role="ingest", data=raw,
                       headers={"Content-Type": "application/json"})
    assert r.status == 422 and r.body["code"] == "validation_failed", r.body


@pytest.mark.parametrize("ctype", ["application/json", "application/x-ndjson"])
async def test_a_bad_batch_item_never_loses_or_blocks_the_good_ones(api: Api,
                                                                    ctype: str) -> None:
    """Issue 14, item 6: the 6th of 10 items had a NaN; items 0-4 were committed, 5-9 lost."""
    good = [json.dumps(post(f"lovely day in the park {i}", f"g{i}")) for i in range(10)]
    good[5] = json.dumps(post("x", "bad", lat=51.5, lon=0.0)).replace("51.5", "NaN")
    if ctype == "application/json":
        data = "[" + ",".join(good) + "]"
    else:
        good[7] = '{"source": "x", "external_id": '  # a line cut short
        data = "\n".join(good) + "\n"
    r = await api.call("POST", "/v1/reports/batch", role="ingest", data=data,
                       headers={"Content-Type": ctype})
    assert r.status == 200, r.body
    bad = {x["index"] for x in r.body["results"] if x["status"] >= 400}
    assert bad == ({5} if ctype == "application/json" else {5, 7})
    assert r.body["counts"] == {"created": 10 - len(bad), "duplicate": 0, "rejected": len(bad)}
    nan = next(x for x in r.body["results"] if x["index"] == 5)
    assert nan["code"] == "validation_failed" and nan["errors"][0]["field"] == "location.lat"


@pytest.mark.parametrize("bad", [float("nan"), None])
def test_dispatch_skips_a_bad_stored_fix_and_picks_the_others(bad: float | None) -> None:
    broken = officer("broken", 51.505, -0.126)
    assert broken.location is not None
    broken = replace(broken, location=replace(broken.location, lat=bad))  # type: ignore[arg-type]
    picks = select_officers([broken, officer("good", 51.506, -0.126)], target=WHITEHALL,
                            neighbourhood_id=None, wave=WaveSpec(2000, 2, 30),
                            max_fix_age=timedelta(minutes=10), exclude=(), now=T0)
    assert [p.officer_id for p in picks] == ["good"]
