"""A throwaway PostgreSQL + PostGIS on 127.0.0.1, the peer of the geofence benchmark."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

PG_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")


class Unavailable(RuntimeError):
    """PostGIS cannot run here; the message says why."""


def ensure_installed() -> None:
    """Install Debian's postgresql-15-postgis-3 if it is missing (needs root and apt)."""
    if POSTGIS_CONTROL.exists() and (PG_BIN / "initdb").exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Unavailable("postgresql-15-postgis-3 is not installed and cannot be installed "
                          "here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "postgresql-15-postgis-3"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise Unavailable(f"{' '.join(cmd)} failed: {done.stderr[-300:]}")
    if not POSTGIS_CONTROL.exists():
        raise Unavailable("postgresql-15-postgis-3 installed but postgis.control is missing")


class PostGIS:
    """initdb in a temp dir, started on a free port; `connect()` gives psycopg connections."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="bluelight-postgis-"))
        # PostgreSQL refuses to run as root: run it as the `postgres` user the package made.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise Unavailable(f"{args[0]} failed: {done.stderr[-500:]}")

    def __enter__(self) -> PostGIS:
        ensure_installed()
        if self._as:
            shutil.chown(self.dir, "postgres")
        data = str(self.dir / "data")
        self._run(str(PG_BIN / "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                  "--no-sync")
        self._run(str(PG_BIN / "pg_ctl"), "-D", data, "-w", "-l", str(self.dir / "log"),
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off -c shared_buffers=256MB", "start")
        with self.connect() as conn:
            conn.execute("CREATE EXTENSION postgis")
        return self

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                               dbname="postgres", autocommit=True)

    def __exit__(self, *_: object) -> None:
        subprocess.run([*self._as, str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"),
                        "-m", "fast", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
