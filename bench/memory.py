"""Memory: peak RSS of the server with all four boundary files and 10,000 officers on duty."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from server.adapters.sqlite.store import SqliteStore
from server.domain.model import Device, LocationFix, OfficerProfile, Platform, Role

from .common import BOUNDARIES, ROOT, SECRET, Result, peak_rss_mb, server
from .ingest import token

FILES = [("london_wards_2016.geojson", "WD13CD", "WD13NM"),
         ("birmingham_lsoa_2011.geojson", "LSOA11CD", "LSOA11NM"),
         ("manchester_lsoa_2011.geojson", "LSOA11CD", "LSOA11NM"),
         ("nyc_nta2020.geojson", "NTA2020", "NTAName")]


async def _officers(db: Path, n: int) -> None:
    """n officers on duty with a fresh fix and a phone (straight into the store: setup)."""
    store = SqliteStore(db)
    await store.open()
    rng = random.Random(9)
    now = datetime.now(UTC)

    async def one(i: int) -> None:
        oid = f"pc{i}"
        await store.put_officer(OfficerProfile(oid, oid, oid), now)
        await store.set_duty(oid, True, now)
        await store.update_location(oid, LocationFix(rng.uniform(51.3, 51.7),
                                                     rng.uniform(-0.5, 0.3), now))
        await store.put_device(Device(f"fcm-{oid}-token", oid, Platform.ANDROID, now))

    for start in range(0, n, 500):
        await asyncio.gather(*(one(i) for i in range(start, min(n, start + 500))))
    await store.close()


def _until_warm(url: str, within_s: float = 60.0) -> None:
    """Wait until /readyz says triage has warmed up."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "/readyz") as r:
            if json.loads(r.read()).get("triage") == "warm":
                return
        time.sleep(0.1)   # polling another process: there is nothing to await
    raise TimeoutError("triage did not warm up")


def run(officers: int, files: int = 4) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bluelight-bench-mem-") as tmp:
        data = Path(tmp)
        env = {**os.environ, "BLUELIGHT_DATA_DIR": str(data), "BLUELIGHT_JWT_SECRET": SECRET}
        for file, id_prop, name_prop in FILES[:files]:
            subprocess.run([sys.executable, "-m", "server", "import-neighbourhoods",
                            str(BOUNDARIES / file), "--id-property", id_prop,
                            "--name-property", name_prop, "--repair"], cwd=ROOT, env=env,
                           check=True, capture_output=True)
        asyncio.run(_officers(data / "bluelight.db", officers))
        with server(data) as (url, proc):
            hdr = {"Authorization": f"Bearer {token(Role.CONTROL_ROOM)}"}
            for path in ("/v1/officers", "/v1/neighbourhoods",
                         "/v1/neighbourhoods/locate?lat=51.5&lon=-0.12"):
                with urllib.request.urlopen(urllib.request.Request(url + path, headers=hdr)):
                    pass
            def post(external_id: str, text: str) -> dict[str, object]:
                body = json.dumps({"source": "m", "external_id": external_id, "text": text,
                                   "posted_at": datetime.now(UTC).isoformat(),
                                   "location": {"lat": 51.5, "lon": -0.12}}).encode()
                req = urllib.request.Request(url + "/v1/reports", data=body, headers={
                    "Authorization": f"Bearer {token(Role.INGEST)}",
                    "Content-Type": "application/json"})
                with urllib.request.urlopen(req) as r:
                    answer: dict[str, object] = json.loads(r.read())
                    return answer

            dispatched = post("1", "he has a knife")
            # The warm-up's words made ahead and the language identifier are counted too.
            _until_warm(url)
            other = post("2", "Pomocy, ktoś włamuje się do mieszkania obok, słyszę krzyki")
            rss = peak_rss_mb(proc.pid)
    r = Result("peak RSS, 4 boundary files + 10k officers", rss, "MB", 200.0, "goal",
               higher_is_better=False, goal="< 200 MB",
               note=f"{officers:,} officers on duty, {files} boundary files; a P1 post "
                    f"dispatched over them ({dispatched['priority']}), and one in Polish "
                    f"({other['priority']}, lang {other['lang']}); the warm-up loads the "
                    f"language identifier (~70 MB), which a third of ordinary posts need")
    r.met = rss < 200
    return [r]
