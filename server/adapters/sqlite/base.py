"""SQLite connection handling: WAL mode, migrations, one serialised connection."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from ...ports.deferrable import is_deferrable
from .lanes import LaneLock
from .schema import MIGRATIONS

T = TypeVar("T")


def _savepoint(work: Callable[[sqlite3.Connection], T],
               begin: bool) -> Callable[[sqlite3.Connection], T]:
    """`work` wrapped in a savepoint (and the batch's BEGIN if it opens it)."""
    def run(conn: sqlite3.Connection) -> T:
        if begin:
            conn.execute("BEGIN IMMEDIATE")
        conn.execute("SAVEPOINT unit")
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            raise
        conn.execute("RELEASE unit")
        return result
    return run


def _statements(script: str) -> list[str]:
    """Split a script into statements (a trigger body holds semicolons of its own)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


# Writers per group commit at most. Calm writers share a COMMIT a few at a time only: an
# urgent writer waits for the transaction in hand, and a long one (30 calm posts' pages)
# doubled a cry for help's report-to-push p99 under load (measured: 66 ms against 102-119).
URGENT_BATCH = 500
DEFERRABLE_BATCH = 8


class SqliteBase:
    """One SQLite file and connection. Every call is serialised; writes are transactions."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._db: aiosqlite.Connection | None = None
        # One connection runs one statement at a time; the lock keeps each unit of work whole
        # (and serves urgent work before work that said it may wait).
        self._lock = LaneLock()
        # Group commit: writers that queue up while a transaction is open share its COMMIT
        # (one fsync for many), each in a savepoint of its own so a failure undoes only itself.
        self._waiting = 0
        self._open = False
        self._batch: list[asyncio.Future[None]] = []
        # One flusher per lane: a batch with only deferrable writers commits behind the
        # deferrable writers queued up (they join it: one fsync for many); one that holds
        # an urgent writer commits before them (that writer's caller is waiting on it).
        self._flushers: dict[bool, asyncio.Task[None]] = {}
        self._batch_urgent = False
        self._units: set[asyncio.Future[Any]] = set()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("SqliteStore is not open")
        return self._db

    async def open(self) -> None:
        """Open the file in WAL mode and apply pending migrations."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute(f"PRAGMA synchronous={self.synchronous}")
        await self.db.execute("PRAGMA busy_timeout=10000")
        await self.db.execute("PRAGMA foreign_keys=ON")
        def migrate(db: sqlite3.Connection) -> None:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")
        await self._unit(migrate)

    async def close(self) -> None:
        """Close the connection after every unit in flight and any pending group commit."""
        if self._units:
            await asyncio.gather(*self._units, return_exceptions=True)
        for flusher in list(self._flushers.values()):
            await flusher
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _unit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` as one unit of work and return once it is committed (durable per
        `synchronous`). It runs in the connection's worker thread in one hop (a statement a
        hop costs more than the SQL on the ingest path), in a savepoint of its own inside a
        group commit: writers that queue up while a transaction is open share its COMMIT,
        one fsync for many. BEGIN IMMEDIATE, so a second process waits rather than failing
        late. A cancelled caller cannot cut a unit in half: the unit finishes regardless."""
        unit = asyncio.ensure_future(self._run_unit(work))
        self._units.add(unit)
        unit.add_done_callback(self._units.discard)
        return await asyncio.shield(unit)

    async def _run_unit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            try:
                result = await self._in_worker(_savepoint(work, not self._open))
            except BaseException:
                self._open = self.db._conn.in_transaction  # False if BEGIN itself failed
                if self._open:
                    await self._commit_or_defer()
                raise
            self._open = True
            self._batch.append(done)
            await self._commit_or_defer()
        finally:
            self._lock.release()
        await done
        return result

    async def _in_worker(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite has no public call for "run this function on your thread with your
        # connection"; these two private names are the whole dependency, and every ingest
        # test breaks at once if an upgrade moves them.
        conn: sqlite3.Connection = self.db._conn
        result: T = await self.db._execute(fn, conn)  # type: ignore[no-untyped-call]
        return result

    async def _commit_or_defer(self) -> None:
        """Commit now if nobody is queued; else leave it to a flusher queued behind them (so
        the batch commits even if every queued writer is cancelled)."""
        self._batch_urgent = self._batch_urgent or not is_deferrable()
        if self._waiting == 0 or len(self._batch) >= (
                URGENT_BATCH if self._batch_urgent else DEFERRABLE_BATCH):
            await self._finish()
            return
        lane = not self._batch_urgent   # the flusher's lane: deferrable unless urgent
        flusher = self._flushers.get(lane)
        if flusher is None or flusher.done():
            self._flushers[lane] = asyncio.create_task(self._flush(deferrable=lane),
                                                       name="sqlite-group-commit")

    async def _flush(self, deferrable: bool) -> None:
        await self._lock.acquire(deferrable=deferrable)
        try:
            if self._open:
                await self._finish()
        finally:
            self._lock.release()

    async def _finish(self) -> None:
        """COMMIT the open transaction and tell every writer in it the outcome."""
        batch, self._batch, self._open = self._batch, [], False
        self._batch_urgent = False
        try:
            await self.db.execute("COMMIT")
        except BaseException as exc:
            await self.db.execute("ROLLBACK")
            for f in batch:
                if not f.done():
                    f.set_exception(RuntimeError(f"the commit failed: {exc}"))
            raise
        for f in batch:
            if not f.done():
                f.set_result(None)

    async def _settle(self) -> None:
        """Under the lock, before a read: commit a batch a writer left open for the writers
        queued behind it. A read shares the writers' connection, so without this it would
        see their uncommitted rows (and, if that COMMIT then failed, rows that never were)."""
        if self._open:
            with contextlib.suppress(Exception):   # the writers in the batch are told
                await self._finish()

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._lock:
            await self._settle()
            cur = await self.db.execute(sql, params)
            return list(await cur.fetchall())

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self._lock:
            await self._settle()
            cur = await self.db.execute(sql, params)
            return await cur.fetchone()

    async def ping(self) -> None:
        """Run a trivial query."""
        await self._fetchone("SELECT 1")
