"""SQLite connection handling: WAL mode, migrations, a writer and a reader connection.

Every write is a unit of work: a function of the writer connection. Units that queue up
while a COMMIT is on its way to disk run together in one transaction, each in a savepoint
of its own (a failure undoes only itself), and share the next COMMIT, one fsync: group
commit. Reads run on a second connection and see only committed rows (WAL gives each
statement the last committed snapshot), so they never wait for a write nor hold one up.

Statements run on the event loop's thread; only COMMIT, which waits for the disk (fsync),
goes to a thread of the store's own, and a lock held by another process (a command-line
import) is waited for by retrying, never on the loop. A statement is microseconds of C,
while in a thread each statement waits for the GIL again (sqlite3 releases it around every
step) behind a busy loop: measured on ingest, ~140 us a statement (README, Performance).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .schema import MIGRATIONS

T = TypeVar("T")
Outcome = tuple[bool, Any]   # (True, result) or (False, the exception to raise)
MAX_BATCH = 500              # units per transaction: bounds the work one COMMIT can lose
BUSY_TIMEOUT_S = 10.0        # how long BEGIN or a read waits for another process's lock
BUSY_RETRY_S = 0.005


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


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY,
                                                      sqlite3.SQLITE_LOCKED)


async def _retrying(fn: Callable[[], T]) -> T:
    """`fn` now, or again every few milliseconds while another process holds the lock it
    needs (the connections' busy timeout is 0: SQLite's own wait would block the loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_S
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or loop.time() > deadline:
                raise
        await asyncio.sleep(BUSY_RETRY_S)


def _run_units(conn: sqlite3.Connection,
               works: Sequence[Callable[[sqlite3.Connection], Any]]) -> list[Outcome]:
    """Inside the open transaction: each unit in its savepoint; each unit's outcome."""
    outcomes: list[Outcome] = []
    for work in works:
        conn.execute("SAVEPOINT unit")
        try:
            value = work(conn)
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
            else:   # the error ended the whole transaction: earlier units went with it
                lost = RuntimeError(f"the transaction was rolled back: {exc}")
                outcomes = [(False, lost) for _ in outcomes]
                conn.execute("BEGIN IMMEDIATE")
            outcomes.append((False, exc))
            continue
        conn.execute("RELEASE unit")
        outcomes.append((True, value))
    return outcomes


def _settle(jobs: Sequence[tuple[Any, asyncio.Future[Any]]],
            outcomes: Sequence[Outcome]) -> None:
    for (_, future), (ok, value) in zip(jobs, outcomes, strict=True):
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class SqliteBase:
    """One SQLite file: writes batched on one connection, reads on another."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._writes: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    def _connect(self) -> sqlite3.Connection:
        # Used from the loop's thread and the store's, never from both at once.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=0")   # waits for a lock are _retrying's
        return conn

    async def open(self) -> None:
        """Open the file in WAL mode and apply pending migrations."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")
        conn = self._conn = self._connect()
        await _retrying(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")

        def migrate(db: sqlite3.Connection) -> None:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")
        await self._unit(migrate)
        self._reader = self._connect()
        self._reader.execute("PRAGMA query_only=ON")

    async def close(self) -> None:
        """Close both connections after every unit in flight."""
        if self._writer is not None:
            await self._writer
        for conn in (self._reader, self._conn):
            if conn is not None:
                conn.close()
        self._conn = self._reader = None
        if self._thread is not None:
            self._thread.shutdown(wait=False)
            self._thread = None

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        if self._thread is None:
            raise RuntimeError("SqliteStore is not open")
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    @property
    def _writer_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("SqliteStore is not open")
        return self._conn

    async def _unit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` as one unit of work and return once it is committed (durable per
        `synchronous`), batched with whatever else queued meanwhile (one COMMIT). A
        cancelled caller cannot cut a unit in half: it runs regardless."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writes.append((work, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain_writes(), name="sqlite-writer")
        return await asyncio.shield(future)

    def _commit(self, conn: sqlite3.Connection) -> None:
        """COMMIT, in the store's thread (a test's failing disk overrides this)."""
        conn.execute("COMMIT")

    async def _finish(self, conn: sqlite3.Connection) -> None:
        def commit() -> None:
            try:
                self._commit(conn)
            except Exception as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise RuntimeError(f"the commit failed: {exc}") from exc
        await self._in_thread(commit)

    async def _drain_writes(self) -> None:
        while self._writes:
            batch, self._writes = self._writes[:MAX_BATCH], self._writes[MAX_BATCH:]
            try:
                conn = self._writer_conn
                # IMMEDIATE: the write lock now (another process's import is waited for).
                await _retrying(functools.partial(conn.execute, "BEGIN IMMEDIATE"))
                try:
                    outcomes = _run_units(conn, [work for work, _ in batch])
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                await self._finish(conn)
            except Exception as exc:
                # BEGIN or COMMIT failed: no unit of the batch stands; each caller is told.
                outcomes = [(False, exc)] * len(batch)
            _settle(batch, outcomes)

    async def _fetch(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """A read on the reader connection, on the loop's thread: WAL readers do not wait
        for writers, and a statement is cheaper than a hop."""
        reader = self._reader
        if reader is None:
            raise RuntimeError("SqliteStore is not open")
        return await _retrying(lambda: read(reader))

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._fetch(lambda conn: conn.execute(sql, params).fetchall())

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._fetch(lambda conn: conn.execute(sql, params).fetchone())

    async def ping(self) -> None:
        """Run a trivial query."""
        await self._fetchone("SELECT 1")
