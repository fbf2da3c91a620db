"""A MongoDB client fake that cuts or pauses the Nth awaited collection call.

It wraps any async client (mongomock-motor here): every awaited collection call, and every
step of a cursor, spends one unit of a shared Budget; when the budget is spent, that call
either raises asyncio.CancelledError instead of running, as APScheduler's shutdown(wait=False)
or a killed process would cut a write sequence (what ran before stays in the database), or
waits until released, as a writer stalled by a GC pause or a slow network wakes up late.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any


class Budget:
    """How many awaited calls may still run; None runs everything."""

    def __init__(self) -> None:
        self.left: int | None = None
        self.calls = 0
        self.pausing = False
        self.paused = asyncio.Event()    # set while a call waits to be released
        self.release = asyncio.Event()

    def cut_at(self, n: int) -> None:
        """Let n-1 calls run and cancel the nth (and, like a dead process, all later ones)."""
        self.left, self.calls, self.pausing = n - 1, 0, False

    def pause_at(self, n: int) -> None:
        """Let n-1 calls run; the nth waits for `release`, then it and the rest run."""
        self.left, self.calls, self.pausing = n - 1, 0, True
        self.paused.clear()
        self.release.clear()

    async def spend(self) -> None:
        self.calls += 1
        if self.left is None:
            return
        if self.left > 0:
            self.left -= 1
            return
        if not self.pausing:
            raise asyncio.CancelledError(f"cut at call {self.calls}")
        self.left = None
        self.paused.set()
        await self.release.wait()


class CutCursor:
    """A cursor whose to_list and each iteration step are cut points."""

    def __init__(self, inner: Any, budget: Budget) -> None:
        self._inner, self._budget = inner, budget

    def sort(self, *args: Any, **kwargs: Any) -> CutCursor:
        self._inner = self._inner.sort(*args, **kwargs)
        return self

    def limit(self, n: int) -> CutCursor:
        self._inner = self._inner.limit(n)
        return self

    async def to_list(self, length: int | None = None) -> list[Any]:
        await self._budget.spend()
        result: list[Any] = await self._inner.to_list(length)
        return result

    def __aiter__(self) -> CutCursor:
        return self

    async def __anext__(self) -> Any:
        await self._budget.spend()
        return await self._inner.__anext__()


class CutCollection:
    """A collection whose coroutine methods (and cursors) are cut points."""

    def __init__(self, inner: Any, budget: Budget) -> None:
        self._inner, self._budget = inner, budget

    def find(self, *args: Any, **kwargs: Any) -> CutCursor:
        return CutCursor(self._inner.find(*args, **kwargs), self._budget)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def cut_point(*args: Any, **kwargs: Any) -> Any:
            await self._budget.spend()
            return await attr(*args, **kwargs)
        return cut_point


class CutDatabase:
    def __init__(self, inner: Any, budget: Budget) -> None:
        self._inner, self._budget = inner, budget

    def __getitem__(self, name: str) -> CutCollection:
        return CutCollection(self._inner[name], self._budget)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CutClient:
    """The client a store under test gets: databases whose collections can be cut."""

    def __init__(self, inner: Any, budget: Budget) -> None:
        self._inner, self._budget = inner, budget

    def __getitem__(self, name: str) -> CutDatabase:
        return CutDatabase(self._inner[name], self._budget)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
