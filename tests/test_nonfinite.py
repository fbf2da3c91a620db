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


async def test_non_finite_numbers_are_refused_in_reports_single_and_batch(api: Api) -> None:
    body = post("he has a knife", "nan-1", lat=WHITEHALL[0], lon=WHITEHALL[1])
    raw = json.dumps(body).replace(str(WHITEHALL[0]), "NaN")
    r = await api.call("POST", "/v1/reports", role="ingest", data=raw,
                       headers={"Content-Type": "application/json"})
    assert r.status == 422, r.body
    r = await api.call("POST", "/v1/reports/batch", role="ingest", data=f"[{raw}]",
                       headers={"Content-Type": "application/json"})
    assert r.status == 422, r.body
    r = await api.call("POST", "/v1/reports/batch", role="ingest", data=raw + "\n",
                       headers={"Content-Type": "application/x-ndjson"})
    assert r.status == 422, r.body


@pytest.mark.parametrize("bad", [float("nan"), None])
def test_dispatch_skips_a_bad_stored_fix_and_picks_the_others(bad: float | None) -> None:
    broken = officer("broken", 51.505, -0.126)
    assert broken.location is not None
    broken = replace(broken, location=replace(broken.location, lat=bad))  # type: ignore[arg-type]
    picks = select_officers([broken, officer("good", 51.506, -0.126)], target=WHITEHALL,
                            neighbourhood_id=None, wave=WaveSpec(2000, 2, 30),
                            max_fix_age=timedelta(minutes=10), exclude=(), now=T0)
    assert [p.officer_id for p in picks] == ["good"]
