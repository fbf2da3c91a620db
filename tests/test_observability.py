"""Metrics, request ids, JSON logs and per-route body limits, through a loopback server."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from dataclasses import replace
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from server import keys, logs
from server.app import create_app
from server.http.observe import AccessLogger
from server.settings import Settings
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, post
from tests.conftest import ApiFactory, eventually


async def test_metrics_count_what_happened_and_are_for_admins(make_api: ApiFactory) -> None:
    api = await make_api()
    await neighbourhood(api)
    await officer_on_duty(api, "near", 51.5050, -0.1265)
    r = await api.post("/v1/reports", post("he has a knife, help", "m1", lat=WHITEHALL[0],
                                           lon=WHITEHALL[1]), role="ingest")
    assert r.status == 201
    await api.post("/v1/reports", post("he has a knife, help", "m1", lat=WHITEHALL[0],
                                       lon=WHITEHALL[1]), role="ingest")   # a repeat
    alert = (await api.get("/v1/me/alerts", role="officer", sub="near")).body["items"][0]
    assert (await api.post(f"/v1/alerts/{alert['id']}/ack", role="officer",
                           sub="near")).status == 200
    text = (await api.get("/metrics", role="admin")).text
    assert 'bluelight_reports_total{band="alert",source="x"} 1.0' in text
    assert "bluelight_report_duplicates_total 1.0" in text
    assert 'bluelight_events_total{kind="incident_opened"} 1.0' in text
    assert 'bluelight_events_total{kind="acknowledged"} 1.0' in text
    assert "bluelight_ack_latency_seconds_count 1.0" in text
    assert 'bluelight_store_seconds_count{op="ingest_report"} 2.0' in text
    assert 'route="/v1/reports",status="201"' in text
    assert "bluelight_geofence_version 1.0" in text
    assert (await api.get("/metrics", role="control_room")).status == 403
    assert (await api.get("/metrics")).status == 401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_metrics_port_serves_metrics_without_a_token(make_api: ApiFactory,
                                                           settings: Settings) -> None:
    port = free_port()
    await make_api(settings=replace(settings, metrics_port=port))
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{port}/metrics") as r:
        assert r.status == 200 and "bluelight_sse_clients" in await r.text()
        async with session.get(f"http://127.0.0.1:{port}/v1/incidents") as other:
            assert other.status == 404   # only /metrics lives there


async def test_request_ids_are_kept_or_made_and_returned(make_api: ApiFactory) -> None:
    api = await make_api()
    given = await api.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = await api.get("/v1/incidents")   # a 401 carries one too
    assert made.status == 401 and len(made.headers["X-Request-ID"]) == 32
    odd = await api.get("/healthz", headers={"X-Request-ID": "no spaces\tor tabs"})
    assert odd.headers["X-Request-ID"] != "no spaces\tor tabs"


async def test_access_log_lines_are_json_with_the_request_id_and_no_query(
        settings: Settings) -> None:
    formatter = logs.JsonFormatter()
    lines: list[dict[str, object]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(formatter.format(record)))

    access = logging.getLogger("aiohttp.access")
    handler, level = Capture(), access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    server = TestServer(create_app(settings))
    await server.start_server(access_log_class=AccessLogger)
    client = TestClient(server)
    try:
        async with client.get("/healthz?access_token=secret",
                              headers={"X-Request-ID": "req-42"}) as r:
            assert r.status == 200

        async def logged() -> bool:
            return any(line.get("request_id") == "req-42" for line in lines)

        await eventually(logged)
    finally:
        await client.close()
        access.removeHandler(handler)
        access.setLevel(level)
    line = next(x for x in lines if x.get("request_id") == "req-42")
    assert line["route"] == "/healthz" and line["status"] == 200 and line["method"] == "GET"
    assert "secret" not in json.dumps(line) and {"time", "level", "logger"} <= set(line)


def test_json_lines_carry_the_principal_while_a_request_is_handled() -> None:
    record = logging.LogRecord("server.x", logging.WARNING, __file__, 1, "alert %s", ("a1",),
                               None)
    rid, who = logs.REQUEST_ID.set("r1"), logs.PRINCIPAL.set("officer:pc1")
    try:
        line = json.loads(logs.JsonFormatter().format(record))
    finally:
        logs.REQUEST_ID.reset(rid)
        logs.PRINCIPAL.reset(who)
    assert line["message"] == "alert a1" and line["level"] == "WARNING"
    assert line["request_id"] == "r1" and line["principal"] == "officer:pc1"
    assert "request_id" not in json.loads(logs.JsonFormatter().format(record))


async def test_a_big_single_report_is_413_before_it_is_read(make_api: ApiFactory) -> None:
    api = await make_api()
    body = post("x" * 300_000, "big")
    r = await api.post("/v1/reports", body, role="ingest")
    assert r.status == 413 and r.body["code"] == "payload_too_large"
    batch = [post(f"quiet day {i} " + "y" * 5000, f"b{i}") for i in range(60)]   # ~300 KB
    r = await api.post("/v1/reports/batch", batch, role="ingest")
    assert r.status == 200 and len(r.body["results"]) == 60


DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards" / (
    "bluelight.json")


async def test_the_grafana_dashboard_only_asks_for_metrics_that_exist(
        make_api: ApiFactory) -> None:
    api = await make_api()
    exposed = {m.name for m in api.app[keys.METRICS].registry.collect()}
    dashboard = DASHBOARD.read_text(encoding="utf-8")
    asked = {re.sub(r"_(bucket|total|count|sum)$", "", m)
             for m in re.findall(r"bluelight_\w+", dashboard)}
    assert asked and asked <= exposed, asked - exposed


async def test_a_connection_with_unfinished_headers_is_closed_after_the_idle_timeout(
        settings: Settings) -> None:
    from server.http.serve import server_options

    server = TestServer(create_app(replace(settings, idle_timeout_s=1.0)))
    await server.start_server(**server_options(replace(settings, idle_timeout_s=1.0)))
    try:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")   # never finished
        await writer.drain()
        async with asyncio.timeout(5):   # aiohttp's default would hold it 75 s
            assert await reader.read() == b""
        writer.close()
    finally:
        await server.close()


def test_a_message_repeated_in_a_burst_is_logged_once() -> None:
    repeats = logs.Repeats(every_s=10.0)
    burst = [logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                               "socket.accept() out of system resource", (), None)
             for _ in range(1000)]
    other = logging.LogRecord("server.x", logging.WARNING, __file__, 1, "alert %s", ("a2",),
                              None)
    assert sum(repeats.filter(r) for r in burst) == 1 and repeats.dropped == 999
    assert repeats.filter(other)
