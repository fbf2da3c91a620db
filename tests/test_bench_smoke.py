"""Benchmarks are not tests: this only checks that each one runs, on tiny sizes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_benchmark_runs_on_a_tiny_size() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--no-postgis"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    path = ROOT / done.stdout.split("written to ", 1)[1].split()[0]
    figures = {r["name"] for r in json.loads(path.read_text())["results"]}
    path.unlink()  # tiny runs are checks, not results worth keeping
    assert {"geofence batch: London wards", "ingest POST /v1/reports",
            "report-to-push latency p99", "escalation lateness p99",
            "overdue steps done after restart"} <= figures
    assert any(name.startswith("peak RSS") for name in figures)
    if shutil.which("chromium"):
        assert "dashboard: post to queue row, p50" in figures
