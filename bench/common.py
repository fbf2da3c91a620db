"""Shared helpers: results table, server processes on loopback, ports, percentiles."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOUNDARIES = ROOT / "server" / "data" / "boundaries"
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-secret-" + "b" * 40


@dataclass
class Result:
    """One figure, its peer measured in the same run, and the goal."""

    name: str
    ours: float
    unit: str
    peer: float | None = None
    peer_name: str = ""
    higher_is_better: bool = True
    goal: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better than the peer (>1 is better, whichever way units run)."""
        if not self.peer or not self.ours:
            return None
        return self.ours / self.peer if self.higher_is_better else self.peer / self.ours


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def machine() -> str:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB, Python {platform.python_version()}"


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def report(results: Sequence[Result], tiny: bool, out: Path | None = None) -> Path:
    """Print the table and write it as JSON (to `out`, or bench/results/ named by the time);
    returns the JSON's path."""
    print(f"\nBluelight benchmarks — {machine()}{' (tiny sizes)' if tiny else ''}\n")
    head = f"{'figure':<44} {'ours':>12} {'peer':>12} {'ratio':>7}  {'unit':<10} goal"
    print(head)
    print("-" * len(head))
    for r in results:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        met = "" if r.met is None else (" met" if r.met else " MISSED")
        print(f"{r.name:<44} {fmt(r.ours):>12} {fmt(r.peer):>12} {ratio:>7}  {r.unit:<10} "
              f"{r.goal}{met}")
        if r.peer_name or r.note:
            print(f"{'':<44} peer: {r.peer_name} {('— ' + r.note) if r.note else ''}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out or RESULTS / f"{'tiny-' if tiny else ''}{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), "tiny": tiny, "at": stamp,
                                "results": [{**asdict(r), "ratio": r.ratio} for r in results]},
                               indent=2))
    print(f"\nwritten to {path}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0, poll_s: float = 0.05) -> None:
    """Wait until the URL answers 200 (servers start in other processes)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(poll_s)


@contextmanager
def server(data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m server serve` in its own process on a free loopback port."""
    port = free_port()
    full = {**os.environ, "BLUELIGHT_DATA_DIR": str(data_dir), "BLUELIGHT_PORT": str(port),
            "BLUELIGHT_HOST": "127.0.0.1", "BLUELIGHT_JWT_SECRET": SECRET,
            "BLUELIGHT_RATE_LIMITS": ",".join(f"{r}=1000000/1000000" for r in (
                "ingest", "control_room", "admin", "officer", "anonymous")), **env}
    log = (data_dir / "server.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], cwd=ROOT, env=full,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        # Polled every 10 ms: the restart benchmark times readiness (50 ms added up to 50).
        wait_http(url + "/readyz", timeout=60, poll_s=0.01)
        yield url, proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
