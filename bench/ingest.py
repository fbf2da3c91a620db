"""Ingest throughput and latency: ours against a bare aiohttp handler (the framework's ceiling)."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.auth import mint_token
from server.domain.model import Role

from .common import BOUNDARIES, ROOT, SECRET, Result, free_port, server, wait_http


def token(role: Role, sub: str = "bench") -> str:
    return mint_token(SECRET, sub=sub, role=role, now=datetime.now(UTC), ttl_s=3600)


_WARDS: dict[str, Path] = {}   # one import per bench run; later benchmarks copy the store


def import_wards(data_dir: Path) -> None:
    """Load the London wards through the CLI, as an administrator would (once per run: the
    other benchmarks start from a copy of that store, which is what the import wrote)."""
    if "db" not in _WARDS:
        template = Path(tempfile.mkdtemp(prefix="bluelight-bench-wards-"))
        atexit.register(shutil.rmtree, template, True)
        subprocess.run([sys.executable, "-m", "server", "import-neighbourhoods",
                        str(BOUNDARIES / "london_wards_2016.geojson"), "--id-property",
                        "WD13CD", "--name-property", "WD13NM"], cwd=ROOT, check=True,
                       capture_output=True, env={**os.environ,
                                                 "BLUELIGHT_DATA_DIR": str(template),
                                                 "BLUELIGHT_JWT_SECRET": SECRET})
        _WARDS["db"] = template / "bluelight.db"
    # The CLI closed the store cleanly: the database file alone holds everything.
    shutil.copyfile(_WARDS["db"], data_dir / "bluelight.db")


def load(url: str, tok: str, seconds: float, concurrency: int, prefix: str,
         batch: int = 0, rate: float = 0) -> dict[str, Any]:
    """Run the load generator in its own process and read its JSON."""
    cmd = [sys.executable, "-m", "bench.loadgen", "--url", url, "--token", tok, "--seconds",
           str(seconds), "--concurrency", str(concurrency), "--prefix", prefix]
    if batch:
        cmd += ["--batch", str(batch)]
    if rate:
        cmd += ["--rate", str(rate)]
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    out: dict[str, Any] = json.loads(done.stdout)
    return out


@contextmanager
def bare() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.bare", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(seconds: float, concurrency: int, rounds: int) -> list[Result]:
    """Single-report ingest against the bare handler, alternating, then batch ingest."""
    with tempfile.TemporaryDirectory(prefix="bluelight-bench-ingest-") as tmp:
        data = Path(tmp)
        import_wards(data)
        tok = token(Role.INGEST)
        ours: list[dict[str, Any]] = []
        peer: list[dict[str, Any]] = []
        with server(data) as (url, _), bare() as bare_url:
            for n in range(rounds):
                peer.append(load(bare_url, tok, seconds, concurrency, f"bare{n}"))
                ours.append(load(url, tok, seconds, concurrency, f"single{n}"))
            batched = load(url, tok, seconds, 4, "batch", batch=100)
        stored = sqlite3.connect(data / "bluelight.db").execute(
            "SELECT COUNT(*) FROM reports").fetchone()[0]
    acked = sum(r["reports_2xx"] for r in ours) + batched["reports_2xx"]
    best = max(ours, key=lambda r: r["rps"])
    ceiling = max(peer, key=lambda r: r["rps"])
    durability = (f"SQLite WAL, synchronous=FULL; {acked:,} reports acknowledged 2xx, "
                  f"{stored:,} stored")
    single = Result("ingest POST /v1/reports", best["rps"], "reports/s", ceiling["rps"],
                    "bare aiohttp handler, fixed JSON body", goal=">= 0.5x bare handler",
                    note=f"concurrency {concurrency}; {durability}")
    single.met = single.ratio is not None and single.ratio >= 0.5 and stored == acked
    p50 = Result("ingest latency p50", best["p50_ms"], "ms", ceiling["p50_ms"],
                 "bare aiohttp handler", higher_is_better=False)
    p99 = Result("ingest latency p99", best["p99_ms"], "ms", ceiling["p99_ms"],
                 "bare aiohttp handler", higher_is_better=False)
    batch = Result("ingest POST /v1/reports/batch (100 each)", batched["reports_per_s"],
                   "reports/s", best["rps"], "single-report ingest",
                   note=f"batch p99 {batched['p99_ms']:.0f} ms per 100 reports")
    return [single, p50, p99, batch]
