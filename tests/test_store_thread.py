"""The writer's own store thread: jobs run in order, off the event loop, and errors come back.

A write that raises must reach the writer as that exception (it answers every sender
``internal``, see test_hub_crash / test_adversarial_database); and a stop must wait for a commit
already under way rather than close the database under it.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from warroom.hub.store_thread import StoreThread


async def test_jobs_run_in_order_on_one_thread_that_is_not_the_loops():
    worker = StoreThread()
    seen: list[tuple[int, str]] = []

    def job(n: int) -> int:
        time.sleep(0.001 * (5 - n % 5))  # later jobs are quicker: order must not come from speed
        seen.append((n, threading.current_thread().name))
        return n * n

    results = await asyncio.gather(*(worker.run(job, n) for n in range(20)))
    worker.close()
    assert results == [n * n for n in range(20)]
    assert [n for n, _ in seen] == list(range(20))
    assert {name for _, name in seen} == {"warroom-store"}
    assert threading.current_thread().name != "warroom-store"


async def test_an_exception_in_a_job_is_raised_to_its_caller_and_the_thread_goes_on():
    worker = StoreThread()

    def disk_full() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await worker.run(disk_full)
    assert await worker.run(lambda: "still writing") == "still writing"
    worker.close()


async def test_close_waits_for_the_job_under_way():
    worker = StoreThread()
    started, finished = threading.Event(), threading.Event()

    def slow_commit() -> None:
        started.set()
        time.sleep(0.2)
        finished.set()

    pending = asyncio.ensure_future(worker.run(slow_commit))
    await asyncio.to_thread(started.wait, 5)
    pending.cancel()  # the writer task cancelled at stop: the commit itself still finishes
    worker.close()
    assert finished.is_set()
    with pytest.raises(asyncio.CancelledError):
        await pending
