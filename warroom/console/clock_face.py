"""The clock the console's widgets show times on: the running app's :class:`Times`.

Widgets read times through these helpers rather than formatting ``datetime`` themselves, so a
whole console switches between its person's time zone and UTC (``U``) at once. The app is the
one Textual is running in this task (as ``Widget.app`` finds it), so several consoles in one
process (tests, drills) each keep their own clock; outside an app, times are UTC.
"""

from __future__ import annotations

from datetime import datetime

from textual.app import active_app

from warroom.core.local_time import UTC_TIMES, Times


def shown_times() -> Times:
    """The running console's :class:`Times` (UTC outside a console)."""
    try:
        app = active_app.get()
    except LookupError:
        return UTC_TIMES
    times = getattr(app, "times", UTC_TIMES)
    return times if isinstance(times, Times) else UTC_TIMES


def hm(at: datetime | None, missing: str = "--:--") -> str:
    """``09:45`` on the console's clock."""
    return shown_times().hm(at, missing)


def hm_zone(at: datetime) -> str:
    """``09:45 CET``: a time that says which clock it is on (in sentences, not columns)."""
    times = shown_times()
    return f"{times.hm(at)} {times.abbrev(at)}"


def on_day(at: datetime, day: datetime | None) -> str:
    """``09:45``, or ``13 Mar 23:10`` when ``at`` falls on another day than ``day`` (both on
    the console's clock)."""
    times = shown_times()
    local = times.local(at)
    if day is not None and local.date() != times.local(day).date():
        return f"{local:%d %b %H:%M}"
    return f"{local:%H:%M}"
