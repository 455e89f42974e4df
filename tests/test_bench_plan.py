"""The benchmarks run what their options say (a plan that measures the wrong case misleads)."""

from __future__ import annotations

import math

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
