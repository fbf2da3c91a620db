"""The embedding table loads once, in a worker thread, after the start-up catch-up or at
once when a post needs it; a post waits for it without holding up the event loop."""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
from collections.abc import Iterator

import pytest

from server import keys
from server.app import create_app
from server.http.serve import _freeze_when_warm
from server.services.warmup import Warmup
from server.settings import Settings


class Load:
    """A load that runs in a worker thread and holds until released."""

    def __init__(self, fail: bool = False) -> None:
        self.calls, self.fail = 0, fail
        self.threads: list[threading.Thread] = []
        self.release = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.threads.append(threading.current_thread())
        self.release.wait(10)
        if self.fail:
            raise OSError("weights missing")


async def test_it_starts_after_the_catch_up_and_loads_once_off_the_loop() -> None:
    load = Load()
    warmup = Warmup(load)
    caught_up = asyncio.Event()
    waiting = asyncio.ensure_future(warmup.start_after(caught_up.wait(), at_most_s=30))
    await asyncio.sleep(0)
    assert load.calls == 0          # not before the catch-up
    caught_up.set()
    await asyncio.wait_for(waiting, 5)
    ready = asyncio.ensure_future(warmup.ready())
    # The loop is free while the load runs: this coroutine gets to run and release it.
    load.release.set()
    await asyncio.wait_for(ready, 5)
    await asyncio.wait_for(warmup.ready(), 5)
    assert load.calls == 1 and load.threads[0] is not threading.main_thread()


async def test_a_post_that_comes_first_starts_it_at_once() -> None:
    load = Load()
    load.release.set()
    warmup = Warmup(load)
    never = asyncio.Event()
    waiting = asyncio.ensure_future(warmup.start_after(never.wait(), at_most_s=30))
    await asyncio.wait_for(warmup.ready(), 5)
    assert load.calls == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_without_a_catch_up_it_starts_at_the_latest_after_the_limit() -> None:
    load = Load()
    load.release.set()
    warmup = Warmup(load)
    await asyncio.wait_for(warmup.start_after(asyncio.Event().wait(), at_most_s=0.01), 5)
    await asyncio.wait_for(warmup.close(), 5)
    assert load.calls == 1


async def test_a_failed_load_is_not_waited_for_again() -> None:
    load = Load(fail=True)
    load.release.set()
    warmup = Warmup(load)
    await asyncio.wait_for(warmup.ready(), 5)   # the caller meets the failure in triage
    await asyncio.wait_for(warmup.ready(), 5)
    await asyncio.wait_for(warmup.close(), 5)
    assert load.calls == 1


async def test_the_server_freezes_what_start_up_built_once_warm(settings: Settings) -> None:
    """What lives as long as the process leaves the collector's reach once the model is
    loaded, so a full collection under load does not walk it."""
    app = create_app(settings)
    warmup = app[keys.REPORTS].warmup
    freezing = asyncio.ensure_future(_freeze_when_warm(app))
    await asyncio.sleep(0)
    assert not freezing.done()          # not before the load has ended
    gc.unfreeze()
    try:
        warmup.finished.set()
        await asyncio.wait_for(freezing, 5)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_the_second_step_follows_the_load_on_the_loop_a_step_at_a_time() -> None:
    load = Load()
    load.release.set()
    order: list[str] = []

    def after() -> Iterator[None]:
        for k in range(3):
            assert threading.current_thread() is threading.main_thread()
            order.append(f"step {k}")
            yield

    warmup = Warmup(load, after=after)

    async def post() -> None:   # other work, all the while
        while not warmup.finished.is_set():
            order.append("post")
            await asyncio.sleep(0)

    await asyncio.wait_for(asyncio.gather(post(), warmup.ready(), warmup.finished.wait()), 5)
    steps = [i for i, what in enumerate(order) if what.startswith("step")]
    assert len(steps) == 3
    # Other work ran between each two steps, not after all of them.
    assert all("post" in order[a:b] for a, b in itertools.pairwise(steps))
    await asyncio.wait_for(warmup.close(), 5)


async def test_no_second_step_after_a_failed_load_and_a_failed_one_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    ran: list[int] = []

    def after() -> Iterator[None]:
        ran.append(1)
        yield
        raise OSError("no room")

    load = Load(fail=True)
    load.release.set()
    warmup = Warmup(load, after=after)
    await asyncio.wait_for(warmup.ready(), 5)
    await asyncio.wait_for(warmup.close(), 5)
    assert ran == [] and warmup.finished.is_set()
    fine = Load()
    fine.release.set()
    warmup = Warmup(fine, after=after)
    await asyncio.wait_for(warmup.ready(), 5)
    await asyncio.wait_for(warmup.close(), 5)
    assert ran == [1] and "second step failed" in caplog.text


def test_the_heap_is_trimmed_where_the_c_library_can() -> None:
    """glibc's malloc_trim hands start-up's freed buffers back (elsewhere: a no-op)."""
    import ctypes
    import ctypes.util

    from server.heap import trim_heap

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    assert trim_heap() is hasattr(libc, "malloc_trim")
