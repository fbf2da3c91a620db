"""Escalation timing: lateness of steps against their deadlines with many alerts pending,
and how soon steps that fell due while the process was down are done after a restart."""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from server.domain.model import Role

from .common import Result, percentile, server
from .ingest import import_wards, token

TEXTS = ["he has a knife", "someone is breaking in downstairs", "my dad can't breathe",
         "the house is on fire", "I want to end it all", "shots fired near the park"]


def _call(url: str, method: str, path: str, role: Role, body: Any, sub: str = "bench") -> Any:
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token(role, sub)}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"{}")


def _setup(url: str, officers: int, rng: random.Random) -> None:
    for i in range(officers):
        oid = f"pc{i}"
        _call(url, "PUT", f"/v1/officers/{oid}", Role.ADMIN, {"name": oid, "callsign": oid})
        _call(url, "PUT", "/v1/me/duty", Role.OFFICER, {"on_duty": True}, oid)
        _call(url, "PUT", "/v1/me/location", Role.OFFICER,
              {"lat": rng.uniform(51.40, 51.60), "lon": rng.uniform(-0.30, 0.10)}, oid)
        _call(url, "PUT", f"/v1/me/devices/fcm-bench-{oid}-token-xyz", Role.OFFICER,
              {"platform": "android"}, oid)


def _alerts(url: str, n: int, rng: random.Random, prefix: str) -> None:
    """n P1 posts spread over London: each opens its own incident with a pending alert."""
    posts = [{"source": "bench", "external_id": f"{prefix}-{i}", "text": TEXTS[i % len(TEXTS)],
              "posted_at": datetime.now(UTC).isoformat(),
              "location": {"lat": 51.40 + 0.2 * (i // 40) / max(1, n // 40),
                           "lon": -0.30 + 0.4 * (i % 40) / 40}} for i in range(n)]
    for start in range(0, n, 500):
        _call(url, "POST", "/v1/reports/batch", Role.INGEST, posts[start:start + 500])


def _lateness(db: Path) -> list[float]:
    """For each expired alert: when the step ran minus its deadline, in ms."""
    conn = sqlite3.connect(db)
    deadline: dict[str, float] = {}
    late: list[float] = []
    for (doc,) in conn.execute("SELECT doc FROM events ORDER BY id"):
        e = json.loads(doc)
        if e["kind"] == "alert_sent":
            deadline[e["alert_id"]] = datetime.fromisoformat(e["data"]["deadline"]).timestamp()
        elif e["kind"] == "alert_expired" and e["alert_id"] in deadline:
            late.append((e["at"] - deadline[e["alert_id"]]) * 1000)
    return late


def _count(db: Path, kind: str) -> int:
    conn = sqlite3.connect(db)
    return sum(json.loads(d)["kind"] == kind for (d,) in conn.execute("SELECT doc FROM events"))


def run(alerts: int, timeout_s: float) -> list[Result]:
    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="bluelight-bench-esc-") as tmp:
        data = Path(tmp)
        import_wards(data)
        policy = data / "policy.yaml"
        policy.write_text(yaml.safe_dump({"priorities": {
            "P1": {"waves": [{"radius_m": 50000, "officers": 2, "ack_timeout_s": timeout_s}]},
            "P2": {"waves": []}, "P3": {"waves": []}, "P4": {"waves": []}}}))
        # Posts of the second round must open incidents of their own, not join the first's.
        env = {"BLUELIGHT_POLICY_FILE": str(policy), "BLUELIGHT_GROUP_WINDOW_S": "1"}
        db = data / "bluelight.db"
        with server(data, **env) as (url, _):
            _setup(url, 40, rng)
            _alerts(url, alerts, rng, "live")
            deadline = time.monotonic() + timeout_s + 60
            while _count(db, "alert_expired") < alerts and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.1)  # past the grouping window of the first round's posts
            _alerts(url, alerts, rng, "down")  # these fall due while the process is down
        late = _lateness(db)
        time.sleep(timeout_s + 1.5)  # let every deadline of the second round pass while down
        began = time.monotonic()
        with server(data, **env):
            ready = time.monotonic() - began
            while _count(db, "alert_expired") < 2 * alerts and time.monotonic() - began < 120:
                time.sleep(0.05)
            catch_up = time.monotonic() - began
    p99 = Result("escalation lateness p99", percentile(late, 99), "ms", 100.0, "goal",
                 higher_is_better=False, goal="p99 < 100 ms",
                 note=f"{len(late)} steps with {alerts} alerts pending; p50 "
                      f"{percentile(late, 50):.1f} ms, max {max(late or [0]):.1f} ms")
    p99.met = p99.ours < 100
    restart = Result("overdue steps done after restart", catch_up, "s", 2.0, "goal",
                     higher_is_better=False, goal="< 2 s from start",
                     note=f"{alerts} steps fell due while down; the server was ready after "
                          f"{ready:.2f} s")
    restart.met = catch_up < 2.0
    return [p99, restart]
