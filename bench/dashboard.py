"""Dashboard latency: from a post that opens an incident to its row in the control room's
queue, with 1,000 incidents already open, in Debian's Chromium (issue 11: within a second).

The row's arrival is seen in the page by a MutationObserver (no polling), on the same clock
as the post. No peer: the goal is absolute."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from server.domain.model import Role

from .common import Result, percentile, server
from .ingest import token

GOAL_MS = 1000.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WATCH = """(marker) => new Promise((ok) => {
  const body = document.querySelector('#queue tbody');
  const seen = () => [...body.rows].some((r) => r.textContent.includes(marker));
  if (seen()) return ok(Date.now());
  new MutationObserver((_, obs) => { if (seen()) { obs.disconnect(); ok(Date.now()); } })
    .observe(body, { childList: true, subtree: true });
})"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _open_incidents(session: aiohttp.ClientSession, url: str, n: int) -> None:
    ingest = {"Authorization": f"Bearer {token(Role.INGEST)}"}
    for start in range(0, n, 250):   # a kilometre apart: each opens its own incident
        batch = [{"source": "bench", "external_id": f"open{i}", "text": f"water leak {i}",
                  "posted_at": _now(), "location": {"lat": 10 + i * 0.01, "lon": 10.0}}
                 for i in range(start, min(n, start + 250))]
        async with session.post(f"{url}/v1/reports/batch", json=batch, headers=ingest) as r:
            body = await r.json()
            assert r.status == 200 and body["counts"]["created"] == len(batch), body


async def _measure(url: str, open_n: int, probes: int) -> list[float]:
    from playwright.async_api import async_playwright

    ingest = {"Authorization": f"Bearer {token(Role.INGEST)}"}
    async with aiohttp.ClientSession() as session, async_playwright() as p:
        await _open_incidents(session, url, open_n)
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1280, "height": 720})
        await page.goto(f"{url}/dashboard/#token={token(Role.CONTROL_ROOM, 'bench')}")
        await page.get_by_role("heading", name=f"Open incidents ({open_n})").wait_for(
            timeout=60_000)
        latencies = []
        for k in range(probes):
            marker = f"zebra{k}"
            seen = asyncio.ensure_future(page.evaluate(f"({WATCH})('{marker}')"))
            await asyncio.sleep(0.3)   # the observer is in place
            sent = time.time() * 1000
            post = {"source": "bench", "external_id": f"probe{k}", "text":
                    f"someone is breaking into the house next door {marker}",
                    "posted_at": _now(),
                    "location": {"lat": 51.50 + 0.02 * k, "lon": -0.12}}
            async with session.post(f"{url}/v1/reports", json=post, headers=ingest) as r:
                assert r.status == 201, await r.text()
            latencies.append(await asyncio.wait_for(seen, 30) - sent)
        await browser.close()
    return latencies


def run(open_n: int = 1000, probes: int = 10) -> list[Result]:
    """p50 and max of post-to-row latency with `open_n` incidents on the board."""
    if not Path(CHROMIUM).exists():
        print("dashboard: no chromium, skipped")
        return []
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (url, _):
        latencies = asyncio.run(_measure(url, open_n, probes))
    worst = max(latencies)
    note = f"{open_n} open incidents, {probes} new ones, Chromium headless"
    return [
        Result("dashboard: post to queue row, p50", percentile(latencies, 50), "ms",
               higher_is_better=False, goal=f"< {GOAL_MS:.0f} ms", met=worst < GOAL_MS,
               note=note),
        Result("dashboard: post to queue row, worst", worst, "ms", higher_is_better=False,
               goal=f"< {GOAL_MS:.0f} ms", met=worst < GOAL_MS, note=note),
    ]
