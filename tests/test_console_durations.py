"""The two short duration formats the console shows: the status bar's and the summary's.

They share one formatter; the summary's metrics stay in hours however long, and show a dash
for what is not known yet."""

from __future__ import annotations

from datetime import timedelta

from warroom.console.widgets.status_bar import elapsed
from warroom.console.widgets.summary import DASH, span


def test_the_status_bar_counts_in_days_from_48_hours():
    shown = [elapsed(timedelta(seconds=s)) for s in (-5, 45, 12 * 60, 65 * 60, 47 * 3600)]
    assert shown == ["0s", "45s", "12m", "1h05m", "47h00m"]
    assert elapsed(timedelta(hours=51)) == "2d03h"


def test_the_summary_stays_in_hours_and_dashes_the_unknown():
    assert [span(timedelta(seconds=45)), span(timedelta(minutes=65))] == ["45s", "1h05m"]
    assert span(timedelta(hours=51)) == "51h00m"
    assert span(None) == DASH
