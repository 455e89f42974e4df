"""The benchmarks run what their options say (a plan that measures the wrong case misleads)."""

from __future__ import annotations

import math
import os
import threading
import time

from bench.common import commit_cpu_probe, cpu_split
from bench.console import first_paint_met
from bench.fanout import defaults_only, plan, servers


def test_no_variants_keeps_only_the_hubs_defaults_at_every_listener_count():
    todo = plan([10, 100, 300], variant_n=100, uv=True)
    assert (100, True, False) in todo, "the full plan varies compression"
    assert defaults_only(todo) == [(10, False, False), (100, False, False), (300, False, False)]


def test_a_keys_only_console_run_reports_no_first_paint_verdict():
    assert first_paint_met(math.nan, measured=False) is None
    assert first_paint_met(1.7, measured=True) is True
    assert first_paint_met(2.4, measured=True) is False


def test_the_cpu_split_puts_a_busy_second_thread_apart_from_the_main_one():
    """A thread's time is read while it lives (a finished thread leaves /proc with it)."""
    spent, done = threading.Event(), threading.Event()

    def spin_then_wait() -> None:
        end = time.thread_time() + 0.2
        while time.thread_time() < end:
            pass
        spent.set()
        done.wait()

    before = cpu_split(os.getpid())
    worker = threading.Thread(target=spin_then_wait)
    worker.start()
    try:
        spent.wait()
        after = cpu_split(os.getpid())
    finally:
        done.set()
        worker.join()
    assert after["threads"] - before["threads"] >= 0.15
    assert after["loop"] - before["loop"] < 0.15, "the main thread only waited"


def test_the_commit_probe_reports_cpu_for_both_paces(tmp_path):
    costs = commit_cpu_probe(tmp_path, gap_s=0.001, count=5)
    assert set(costs) == {"back_to_back_us", "with_gap_us"}
    assert all(v > 0 for v in costs.values())


def test_the_floor_relay_commits_every_message_before_it_relays_it(tmp_path):
    """``--floor`` is only a floor if each message is on disk before anyone is sent it."""
    import asyncio
    import sqlite3

    from websockets.asyncio.client import connect

    from bench.common import ServerProcess

    db = tmp_path / "floor.db"

    async def talk(url: str) -> list[tuple[str, int]]:
        async with connect(url, compression=None) as ws:
            seen = []
            for k in range(3):
                await ws.send(f"note {k}")
                echo = await asyncio.wait_for(ws.recv(), 10)
                # Read by another connection, as a crash would find the file.
                with sqlite3.connect(db) as other:
                    stored = other.execute("SELECT count(*) FROM log").fetchone()[0]
                seen.append((echo, stored))
            return seen

    with ServerProcess.bare(tmp_path / "floor.log", durable=db) as relay:
        seen = asyncio.run(talk(relay.url))
    assert seen == [("note 0", 1), ("note 1", 2), ("note 2", 3)]
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_floor_runs_beside_hub_and_bare_only_where_the_targets_apply():
    assert servers(compression=False, uvloop=False, floor=True) == ["hub", "bare", "floor"]
    assert servers(compression=True, uvloop=False, floor=True) == ["hub", "bare"]
    assert servers(compression=False, uvloop=True, floor=True) == ["hub", "bare"]
    assert servers(compression=False, uvloop=False, floor=False) == ["hub", "bare"]
