"""Hostile input: schemathesis against the running server, and hypothesis properties."""

from __future__ import annotations

import asyncio
import math
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from server.app import create_app
from server.domain.errors import ValidationFailed
from server.domain.geojson import parse_polygon
from server.domain.records import Category, Priority
from server.http.openapi import RequestValidator, load_spec
from server.rules import load_triage_rules
from server.services.geofence import GeofenceService
from server.services.reports import ReportService
from server.settings import Settings
from server.triage.triager import Triager, load_model
from tests.conftest import token

ROOT = Path(__file__).resolve().parents[1]
ROOMY = ",".join(f"{r}=100000/100000" for r in ("ingest", "control_room", "admin", "officer",
                                                 "auth_failures",
                                                 "anonymous"))


async def test_schemathesis_finds_no_server_error_and_no_spec_violation(
        settings: Settings) -> None:
    """Each role fuzzes every operation at once, for 30 s (BLUELIGHT_FUZZ_SECONDS: longer
    runs by hand), so the suite stays under four minutes."""
    app = create_app(replace(settings, rate_limits=ROOMY))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    budget = os.environ.get("BLUELIGHT_FUZZ_SECONDS", "30")
    try:
        async def fuzz(role: str) -> tuple[str, int, str]:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "schemathesis.cli", "run", str(ROOT / "openapi.yaml"),
                "--url", url, "-H", f"Authorization: Bearer {token(role, 'fuzz')}",
                "-n", "5", "--max-time", budget, "--checks", "all", "--seed", "7",
                # Semantic rules (a self-intersecting polygon, a future timestamp) cannot be
                # written in JSON Schema, so a schema-valid request may rightly get a 422.
                "--exclude-checks", "positive_data_acceptance,ignored_auth",
                "--warnings", "off", "--generation-database", "none",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            out, _ = await proc.communicate()
            return role, proc.returncode or 0, out.decode(errors="replace")

        results = await asyncio.gather(*(fuzz(r) for r in ("admin", "control_room", "officer",
                                                           "ingest")))
    finally:
        await runner.cleanup()
    for role, code, out in results:
        assert code == 0, f"schemathesis as {role} failed:\n{out[-6000:]}"
        assert "5xx" not in out.split("SUMMARY")[-1] or "Server error" not in out


coordinate = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-1000, 1000),
                       st.booleans(), st.none(), st.text(max_size=3))
position = st.lists(coordinate, min_size=0, max_size=4)
ring = st.lists(position, min_size=0, max_size=8)
geometry = st.fixed_dictionaries({
    "type": st.sampled_from(["Polygon", "MultiPolygon", "Point", "polygon"]),
    "coordinates": st.one_of(st.lists(ring, max_size=3), st.lists(st.lists(ring, max_size=2),
                                                                  max_size=2), coordinate)})


def all_positions(coords: Any) -> list[list[float]]:
    if isinstance(coords, list) and coords and all(isinstance(c, int | float) for c in coords):
        return [coords]
    return [p for c in coords for p in all_positions(c)] if isinstance(coords, list) else []


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(geometry)
def test_geojson_validation_never_crashes_nor_accepts_bad_coordinates(g: dict[str, Any]) -> None:
    try:
        parsed = parse_polygon(g, repair=True)
    except ValidationFailed:
        return
    for lon, lat, *_ in all_positions(parsed.geojson["coordinates"]):
        assert math.isfinite(lon) and math.isfinite(lat)
        assert -180 <= lon <= 180 and -90 <= lat <= 90


@hsettings(max_examples=300, deadline=None)
@given(st.floats(-200, 200), st.floats(-100, 100), st.floats(0.0001, 50))
def test_squares_are_accepted_exactly_when_in_range(lon: float, lat: float, size: float) -> None:
    square = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat],
                                                  [lon + size, lat + size], [lon, lat + size],
                                                  [lon, lat]]]}
    in_range = lon >= -180 and lon + size <= 180 and lat >= -90 and lat + size <= 90
    try:
        parse_polygon(square)
        accepted = True
    except ValidationFailed:
        accepted = False
    assert accepted == in_range


TRIAGER = Triager(load_model(), load_triage_rules(None))


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_triage_never_crashes(text: str) -> None:
    verdict = TRIAGER.triage(text)
    assert isinstance(verdict.category, Category) and isinstance(verdict.priority, Priority)
    assert verdict.score is None or 0.0 <= verdict.score <= 1.0


VALIDATOR = RequestValidator(load_spec())
SERVICE = ReportService(cast(Any, None), GeofenceService(cast(Any, None)), TRIAGER,
                        cast(Any, None), cast(Any, None), cast(Any, None), cast(Any, None))
json_value = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                          lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                          max_leaves=8)
report_body = st.fixed_dictionaries(
    {"source": st.one_of(st.text(max_size=70), json_value),
     "external_id": st.one_of(st.text(max_size=10), json_value),
     "text": st.one_of(st.text(max_size=50), json_value),
     "posted_at": st.one_of(st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
                            st.text(max_size=30), json_value)},
    optional={"location": st.one_of(json_value, st.fixed_dictionaries(
        {"lat": st.floats(), "lon": st.floats()})), "place": json_value, "author": json_value})


@hsettings(max_examples=400, deadline=None)
@given(report_body)
def test_report_parsing_never_crashes_nor_accepts_bad_coordinates(body: dict[str, Any]) -> None:
    try:
        VALIDATOR.validate("POST", "/v1/reports", body)
        report = SERVICE.build(body, datetime.now(UTC))
    except ValidationFailed:
        return
    if report.lat is not None:
        assert report.lon is not None
        assert -90 <= report.lat <= 90 and -180 <= report.lon <= 180


@pytest.mark.parametrize("raw", ["2026-13-01T00:00:00Z", "yesterday", "2026-01-01T00:00:00"])
def test_bad_timestamps_are_refused(raw: str) -> None:
    body = {"source": "x", "external_id": "1", "text": "t", "posted_at": raw}
    with pytest.raises(ValidationFailed):
        VALIDATOR.validate("POST", "/v1/reports", body)
