"""One server process per SQLite file, enforced with a lock file.

Two server processes on one file do work, but each runs its own timers and pushes: step
lateness grew tenfold and a killed process left alerts unpushed. Several instances need
MongoDB. Within one process any number of apps may share the file (tests do), so the lock
is counted per process; command-line tools (imports, audit checks) never take it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class StoreInUse(RuntimeError):
    """Another server process holds the SQLite file."""


_HELD: dict[Path, tuple[int, int]] = {}  # lock file -> (descriptor, apps holding it)


def _lock_file(db: Path) -> Path:
    return db.resolve().with_name(db.name + ".server.lock")


def claim(db: Path) -> None:
    """Take the file for this process, or raise StoreInUse naming what to do instead."""
    path = _lock_file(db)
    if path in _HELD:
        fd, count = _HELD[path]
        _HELD[path] = (fd, count + 1)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreInUse(
            f"another Bluelight server process is using {db}: run one server process per "
            "SQLite file, or several instances on MongoDB (BLUELIGHT_STORE=mongodb://...)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _HELD[path] = (fd, 1)


def release(db: Path) -> None:
    """Give the file back once the last app of this process using it stops."""
    path = _lock_file(db)
    if path not in _HELD:
        return
    fd, count = _HELD.pop(path)
    if count > 1:
        _HELD[path] = (fd, count - 1)
        return
    os.close(fd)  # closing the descriptor drops the lock
