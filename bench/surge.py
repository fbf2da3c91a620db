"""The surge (issue 13): thousands of posts about one event in a minute, and meanwhile lone
cries for help elsewhere. Measured: each lone cry's first push (report accepted to the fake
FCM server receiving the alert), and that no post of the surge was lost (every 2xx is in the
database afterwards) and the surge stayed one event (few incidents, not thousands)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from server.domain.model import Role

from .common import Result, percentile, server
from .ingest import import_wards, token
from .push_latency import Receiver, _officers

EVENT = (51.5136, -0.0984)   # one street in the City of London
SURGE_TEXTS = ["huge explosion near the station, people running", "explosion!! everyone out",
               "massive bang and smoke near the station, people hurt",
               "was that an explosion?? windows shook", "people injured after the blast",
               "police everywhere after the explosion at the station"]
LONE = ["my dad collapsed in the kitchen and isn't breathing", "someone is breaking in "
        "downstairs, I'm hiding upstairs", "a man with a knife is chasing people on the estate"]


def _post(source: str, n: int, text: str, lat: float, lon: float) -> dict[str, Any]:
    return {"source": source, "external_id": f"{source}-{n}", "text": text,
            "posted_at": datetime.now(UTC).isoformat(), "location": {"lat": lat, "lon": lon}}


async def _surge(session: aiohttp.ClientSession, url: str, total: int, seconds: float,
                 rng: random.Random) -> int:
    """Send `total` posts about the event, evenly over `seconds`; the number acknowledged."""
    headers = {"Authorization": f"Bearer {token(Role.INGEST)}"}
    ok = 0
    began = time.monotonic()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker() -> None:
        nonlocal ok
        while not queue.empty():
            n = queue.get_nowait()
            await asyncio.sleep(max(0.0, began + n * seconds / total - time.monotonic()))
            body = _post("surge", n, rng.choice(SURGE_TEXTS),
                         EVENT[0] + rng.uniform(-0.0015, 0.0015),
                         EVENT[1] + rng.uniform(-0.0015, 0.0015))
            async with session.post(f"{url}/v1/reports", json=body, headers=headers) as r:
                await r.read()
                ok += 200 <= r.status < 300

    await asyncio.gather(*(worker() for _ in range(64)))
    return ok


async def _lone_cries(session: aiohttp.ClientSession, url: str, receiver: Receiver,
                      probes: int, seconds: float, rng: random.Random) -> list[float]:
    headers = {"Authorization": f"Bearer {token(Role.INGEST)}"}
    latencies: list[float] = []
    await asyncio.sleep(seconds * 0.1)   # into the surge
    for i in range(probes):
        body = _post("lone", i, rng.choice(LONE), rng.uniform(51.42, 51.48),
                     rng.uniform(-0.28, -0.15))   # south-west London, far from the event
        sent = time.perf_counter()
        async with session.post(f"{url}/v1/reports", json=body, headers=headers) as r:
            incident = (await r.json())["incident_id"]
        deadline = time.perf_counter() + 5.0
        while incident not in receiver.first and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        latencies.append((receiver.first.get(incident, time.perf_counter()) - sent) * 1000)
        await asyncio.sleep(seconds * 0.8 / probes)
    return latencies


async def _run(data: Path, total: int, seconds: float, probes: int) -> tuple[int, list[float]]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/v1/projects/{p}/messages:send", receiver.send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    fcm = f"http://127.0.0.1:{runner.addresses[0][1]}"
    rng = random.Random(11)
    try:
        with server(data, BLUELIGHT_PUSH="fcm", BLUELIGHT_FCM_PROJECT_ID="bench",
                    BLUELIGHT_FCM_ENDPOINT=fcm, BLUELIGHT_FCM_ACCESS_TOKEN="t") as (url, _):
            connector = aiohttp.TCPConnector(limit=80)
            async with aiohttp.ClientSession(connector=connector) as session:
                await _officers(session, url, 60, rng)
                acknowledged, latencies = await asyncio.gather(
                    _surge(session, url, total, seconds, rng),
                    _lone_cries(session, url, receiver, probes, seconds, rng))
    finally:
        await runner.cleanup()
    return acknowledged, latencies


def run(total: int = 10_000, seconds: float = 60.0, probes: int = 20) -> list[Result]:
    """The lone cry's push latency during the surge, and the surge's posts all stored."""
    with tempfile.TemporaryDirectory(prefix="bluelight-bench-surge-") as tmp:
        data = Path(tmp)
        import_wards(data)
        acknowledged, latencies = asyncio.run(_run(data, total, seconds, probes))
        db = sqlite3.connect(data / "bluelight.db")
        stored, incidents = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT incident_id) FROM reports WHERE source = 'surge'"
        ).fetchone()
        db.close()
    note = (f"{total} posts about one event in {seconds:.0f} s; {acknowledged} acknowledged, "
            f"{stored} stored, in {incidents} incident(s); {len(latencies)} lone cries")
    p99 = Result("surge: a lone cry's first push, p99", percentile(latencies, 99), "ms",
                 higher_is_better=False, goal="p99 < 100 ms, none lost",
                 met=percentile(latencies, 99) < 100 and stored == acknowledged,
                 note=note)
    lost = Result("surge: posts acknowledged but not stored", float(acknowledged - stored),
                  "posts", higher_is_better=False, goal="0", met=stored == acknowledged,
                  note=f"p50 of the lone cries {percentile(latencies, 50):.0f} ms")
    return [p99, lost]
