"""`make bench` / `python -m bench [--tiny] [--no-postgis] [--only NAME ...] [--out FILE]`: every
figure with its peer and ratio, printed and written to bench/results/ (or FILE)."""

from __future__ import annotations

import argparse
import compileall
import time
from pathlib import Path

from . import dashboard, escalation, geofence, ingest, memory, push_latency, surge, triage
from .common import ROOT, Result, report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: checks each runs")
    parser.add_argument("--no-postgis", action="store_true", help="skip the PostGIS peer")
    parser.add_argument("--only", nargs="*", default=[],
                        choices=["geofence", "ingest", "push", "escalation", "memory",
                                 "triage", "dashboard", "surge"])
    parser.add_argument("--out", type=Path, help="write the JSON here, not bench/results/")
    args = parser.parse_args()
    tiny = args.tiny
    wanted = set(args.only) or {"geofence", "ingest", "push", "escalation", "memory", "triage",
                                "dashboard", "surge"}
    # Servers start as deployed ones do, from compiled bytecode: with PYTHONDONTWRITEBYTECODE
    # set (CI, the image) every start would otherwise compile every module again.
    compileall.compile_dir(ROOT / "server", quiet=1)
    results: list[Result] = []
    started = time.monotonic()
    if "geofence" in wanted:
        results += geofence.run(n_points=2_000 if tiny else 100_000,
                                n_single=500 if tiny else 5_000,
                                use_postgis=not args.no_postgis, rounds=1 if tiny else 2)
    if "ingest" in wanted:
        results += ingest.run(seconds=1 if tiny else 10, concurrency=32, rounds=1 if tiny else 2)
    if "push" in wanted:
        results += push_latency.run(probes=5 if tiny else 100, background_rate=200,
                                    seconds=2 if tiny else 20)
    if "escalation" in wanted:
        results += escalation.run(alerts=20 if tiny else 1000, timeout_s=0.5 if tiny else 3.0)
    if "triage" in wanted:
        results += triage.run(posts=200 if tiny else 2000, rounds=1 if tiny else 3)
    if "surge" in wanted:
        results += surge.run(total=60 if tiny else 10_000, seconds=1 if tiny else 60,
                             probes=2 if tiny else 20)
    if "dashboard" in wanted:
        results += dashboard.run(open_n=50 if tiny else 1000, probes=2 if tiny else 10)
    if "memory" in wanted:
        results += memory.run(officers=200 if tiny else 10_000, files=1 if tiny else 4)
    report(results, tiny, args.out)
    print(f"took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
