"""The benchmarks run what their options say (a plan that measures the wrong case misleads)."""

from __future__ import annotations

import math
import os
import threading
import time

from bench.common import commit_cpu_probe, cpu_split
from bench.console import first_paint_met
from bench.fanout import defaults_only, plan


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
