"""A Store wrapper that makes concurrent callers interleave at every store call.

mongomock never yields inside a call and SQLite's worker answers in whatever order it gets,
so two coroutines racing through read-decide-write mostly run one after the other and a
missing guard goes unseen. This wrapper yields to the event loop before and after every
store call, a seeded random number of extra times, so each seed is another schedule of the
same reads and writes; the guarantees must hold for all of them.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from typing import Any, cast

from server.ports import Store


class Interleaving:
    """Any store, yielding 1..1+most times around each call (how many: a seeded draw)."""

    def __init__(self, inner: Store, seed: int, most: int = 4) -> None:
        self._inner, self._rng, self._most = inner, random.Random(seed), most
        self.calls = 0

    async def _yield(self) -> None:
        for _ in range(1 + self._rng.randrange(self._most + 1)):
            await asyncio.sleep(0)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def interleaved(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            await self._yield()
            result = await attr(*args, **kwargs)
            await self._yield()
            return result
        setattr(self, name, interleaved)   # resolve each method once
        return interleaved


def interleaving(inner: Store, seed: int, most: int = 4) -> Store:
    """The store as the services should see it in a race test."""
    return cast(Store, Interleaving(inner, seed, most))
