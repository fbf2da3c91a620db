"""Benchmarks are not tests: this only checks that each one runs, on tiny sizes.

One test per benchmark, so that they spread over the test workers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FIGURES = {
    "geofence": {"geofence batch: London wards"},
    "ingest": {"ingest POST /v1/reports"},
    "push": {"report-to-push latency p99"},
    "escalation": {"escalation lateness p99", "overdue steps done after restart"},
    "triage": {"triage (model + rules), warm word cache"},
    "surge": {"surge: posts acknowledged but not stored"},
    "dashboard": {"dashboard: post to queue row, p50"},
    "memory": set(),   # named by the machine's RSS: checked below
}


@pytest.mark.parametrize("bench", sorted(FIGURES))
def test_the_benchmark_runs_on_a_tiny_size(bench: str, tmp_path: Path) -> None:
    if bench == "dashboard" and not shutil.which("chromium"):
        pytest.skip("the dashboard benchmark drives Debian's chromium")
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--no-postgis", "--only",
                           bench, "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())["results"]
    assert results, done.stdout[-3000:]
    assert FIGURES[bench] <= {r["name"] for r in results}
    if bench == "memory":
        assert any(r["name"].startswith("peak RSS") for r in results)
