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


def test_the_language_check_is_measured_on_lingua_style_test_data(tmp_path: Path) -> None:
    """bench/languages.py reads lingua-py's language-testdata (here a two-language stand-in
    laid out the same way): other-language lines read as English are counted, per kind."""
    for kind, en, pl in [("sentences", "my neighbour is not breathing, please call someone",
                          "Pomocy! Ktoś włamuje się do mojego mieszkania, jestem sama"),
                         ("word-pairs", "heavy rain", "dobry wieczór")]:
        folder = tmp_path / "language-testdata" / kind
        folder.mkdir(parents=True)
        (folder / "en.txt").write_text(en + "\n", encoding="utf-8")
        (folder / "pl.txt").write_text(pl + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bench.languages", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sentences: 0 of 1 in other languages read as English"), lines
    assert "English not read as English: 0 of 1" in lines[0]
    assert lines[1].startswith("word-pairs: "), lines


def test_the_triage_scoreboard_reads_every_set_it_is_given(tmp_path: Path) -> None:
    """`bench.triage_scoreboard`: the held-out split, each blind set and the tweet sets
    present under --evaldata, one row each (a missing tweet set is skipped, not fatal)."""
    evaldata = tmp_path / "evaldata"
    evaldata.mkdir()
    (evaldata / "rescue_requests.jsonl").write_text(
        json.dumps({"text": "trapped on the roof with my kids at 12 Elm St, water rising",
                    "urgent": True}) + "\n")
    (evaldata / "tweeteval_sentiment.jsonl").write_text(
        json.dumps({"text": "great match last night", "urgent": False}) + "\n")
    verdicts = tmp_path / "verdicts.jsonl"
    done = subprocess.run([sys.executable, "-m", "bench.triage_scoreboard", "--evaldata",
                           str(evaldata), "--verdicts", str(verdicts)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    names = [line.split("  ")[0] for line in done.stdout.splitlines()[1:]]
    blind = sorted(p.stem for p in (ROOT / "corpus" / "blind").glob("*.jsonl"))
    assert names == ["held-out", *[f"blind {b}" for b in blind], "rescue_requests",
                     "tweeteval_sentiment", "all blind sets"]
    assert "skipped crisislex_t6_offtopic" in done.stderr
    rescue = next(line for line in done.stdout.splitlines() if line.startswith("rescue_"))
    assert rescue.split()[1:5] == ["1", "100.00", "100.00", "0"]   # alerted, as P1
    rows = [json.loads(line) for line in verdicts.read_text().splitlines()]
    assert {r["set"] for r in rows} >= {"held-out", "rescue_requests", "tweeteval_sentiment"}
