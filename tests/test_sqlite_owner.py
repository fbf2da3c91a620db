"""Regression (issue 14, item 12): one server process per SQLite file, enforced.

Mocked nothing: a real second process holds the lock file, as a second server would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from server.adapters.sqlite.owner import StoreInUse
from server.app import create_app
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
HOLD = ("import sys; from pathlib import Path; from server.adapters.sqlite.owner import claim; "
        "claim(Path(sys.argv[1])); print('held', flush=True); sys.stdin.read()")


@contextmanager
def held_by_another_process(db: Path) -> Iterator[None]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield
    finally:
        proc.kill()
        proc.wait(timeout=10)


async def test_a_second_server_process_is_refused(settings: Settings) -> None:
    db = Path(settings.store_url.removeprefix("sqlite:///"))
    with held_by_another_process(db):
        server = TestServer(create_app(settings))
        with pytest.raises(StoreInUse, match="one server process per SQLite file"):
            await server.start_server()
        await server.close()
    server = TestServer(create_app(settings))  # free again once the other process is gone
    await server.start_server()
    await server.close()


async def test_apps_of_one_process_share_the_file(settings: Settings) -> None:
    one, two = TestServer(create_app(settings)), TestServer(create_app(settings))
    await one.start_server()
    await two.start_server()
    await one.close()
    three = TestServer(create_app(replace(settings)))  # still held by `two`: same process
    await three.start_server()
    await two.close()
    await three.close()


def test_serve_exits_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "bluelight.db"
    env = {**os.environ, "BLUELIGHT_STORE": f"sqlite:///{db}", "BLUELIGHT_DATA_DIR":
           str(tmp_path), "BLUELIGHT_PORT": "0"}
    with held_by_another_process(db):
        done = subprocess.run([sys.executable, "-m", "server", "serve"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "another Bluelight server process is using" in done.stderr
