"""The two short duration formats the console shows: the status bar's and the summary's.

They share one formatter; the summary's metrics stay in hours however long, and show a dash
for what is not known yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warroom.console.widgets.status_bar import elapsed, next_update_text
from warroom.console.widgets.summary import DASH, span
from warroom.core.cadence import Countdown


def test_the_status_bar_counts_in_days_from_48_hours():
    shown = [elapsed(timedelta(seconds=s)) for s in (-5, 45, 12 * 60, 65 * 60, 47 * 3600)]
    assert shown == ["0s", "45s", "12m", "1h05m", "47h00m"]
    assert elapsed(timedelta(hours=51)) == "2d03h"


def test_the_summary_stays_in_hours_and_dashes_the_unknown():
    assert [span(timedelta(seconds=45)), span(timedelta(minutes=65))] == ["45s", "1h05m"]
    assert span(timedelta(hours=51)) == "51h00m"
    assert span(None) == DASH


def test_the_update_countdown_says_in_and_by_and_counts_hours_past_the_hour():
    """``update in 04:32`` (a bare ``04:32`` beside clock times reads as a time of day); past an
    hour it reads like the bar's ages (``3h53m``), never ``233:00``."""
    due = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    def shown(remaining: timedelta) -> str:
        return next_update_text(Countdown(due_at=due, remaining=remaining))

    assert shown(timedelta(minutes=4, seconds=32)) == "update in 04:32"
    assert shown(timedelta(minutes=-2, seconds=-10)) == "⚠ update overdue by 02:10"
    assert shown(timedelta(hours=-3, minutes=-53)) == "⚠ update overdue by 3h53m"
    assert shown(timedelta(hours=1, minutes=5)) == "update in 1h05m"
    assert next_update_text(None) == "update —"
