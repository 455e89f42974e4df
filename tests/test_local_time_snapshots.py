"""What local time looks like (issue 23, item 4): the same corrected record as
test_corrections_snapshots (there in UTC, the tests' system zone) on a console in New York, at
80x24 and 160x48, then the declaration form in Berlin. T0 is 09:00 UTC: 05:00 EDT, 10:00 CET."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.console_helpers import hub_in_thread, make_console
from tests.test_corrections_snapshots import SIZES, a_corrected_record, on_the_timeline


@pytest.mark.parametrize("size", SIZES)
def test_the_timeline_in_new_york(snap_compare, tmp_path, size):
    with hub_in_thread(tmp_path) as hub:
        a_corrected_record(hub)
        app = make_console(hub.url, name="sam", role="scribe", timezone="America/New_York")
        assert snap_compare(app, terminal_size=SIZES[size], run_before=on_the_timeline)


def test_the_declaration_form_in_berlin(snap_compare, tmp_path):
    async def open_form(pilot: Pilot) -> None:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()

    with hub_in_thread(tmp_path) as hub:
        app = make_console(hub.url, incident=None, timezone="Europe/Berlin")
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_form)


def test_the_versions_screen_in_berlin(snap_compare, tmp_path):
    async def open_versions(pilot: Pilot) -> None:
        await on_the_timeline(pilot)
        from warroom.console.widgets.timeline import TimelinePane

        view = pilot.app.screen.query_one(TimelinePane).view
        view.focus()
        row = next(i for i, e in enumerate(view.rows) if "rollback of checkout-api" in e.text)
        await pilot.press(*["up"] * (len(view.rows) - 1 - row), "v")
        await pilot.pause()

    with hub_in_thread(tmp_path) as hub:
        a_corrected_record(hub)
        app = make_console(hub.url, name="sam", role="scribe", timezone="Europe/Berlin")
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_versions)
