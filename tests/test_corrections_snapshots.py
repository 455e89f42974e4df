"""What corrections look like: the timeline's marks (✎ amended, ↶ retimed, ◷ typed earlier) at
80x24 and 160x48, the versions screen and the amend form. The hub's clock stands at T0."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.pilot import Pilot

from tests.console_helpers import INCIDENT_ID, hub_in_thread, make_console, until_live
from tests.helpers import T0, client
from warroom.core.corrections import EntryAmended, EntryRetimed
from warroom.core.incident import NoteAdded

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


def a_corrected_record(hub) -> None:
    """bo's finding amended by bo, sam's note typed 47 s before the hub had it and retimed by the
    IC, and a plain note after them."""
    hub.seed()

    async def record() -> None:
        bo = await client(hub.url, "bo", "responder", INCIDENT_ID)
        ana = await client(hub.url, "ana", "ic", INCIDENT_ID)
        sam = await client(hub.url, "sam", "scribe", INCIDENT_ID)
        try:
            finding = await bo.post(NoteAdded(text="db failover took 3 minutes", kind="finding"))
            await bo.post(
                EntryAmended(
                    entry=finding.seq,
                    text="db failover took 13 minutes",
                    reason="misread the graph",
                )  # fmt: skip
            )
            typed = await sam.post(
                NoteAdded(
                    text="rollback of checkout-api started", noted_at=T0 - timedelta(seconds=47)
                )  # fmt: skip
            )
            await ana.post(
                EntryRetimed(
                    entry=typed.seq,
                    happened_at=T0 - timedelta(minutes=8),
                    reason="the deploy log says 08:52",
                )  # fmt: skip
            )
            await sam.post(NoteAdded(text="5xx falling on checkout-api"))
        finally:
            for c in (sam, ana, bo):
                await c.close()

    hub.call(record())


async def on_the_timeline(pilot: Pilot) -> None:
    await until_live(pilot)
    await pilot.press("1")
    await pilot.pause()


def snap_of_sam(snap_compare, tmp_path, size: tuple[int, int], run_before) -> bool:
    """sam's console (the scribe) on the corrected record, pinned after ``run_before``."""
    with hub_in_thread(tmp_path) as hub:
        a_corrected_record(hub)
        app = make_console(hub.url, name="sam", role="scribe")
        return snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_the_timeline_marks_corrections(snap_compare, tmp_path, size):
    assert snap_of_sam(snap_compare, tmp_path, SIZES[size], on_the_timeline)


def _row_of(app, text: str) -> int:
    from warroom.console.widgets.timeline import TimelinePane

    view = app.screen.query_one(TimelinePane).view
    return next(i for i, e in enumerate(view.rows) if text in e.text)


def test_the_versions_screen(snap_compare, tmp_path):
    async def open_versions(pilot: Pilot) -> None:
        await on_the_timeline(pilot)
        from warroom.console.widgets.timeline import TimelinePane

        view = pilot.app.screen.query_one(TimelinePane).view
        view.focus()
        steps = len(view.rows) - 1 - _row_of(pilot.app, "rollback of checkout-api")
        await pilot.press(*["up"] * steps, "v")
        await pilot.pause()

    assert snap_of_sam(snap_compare, tmp_path, (80, 24), open_versions)


def test_the_amend_form(snap_compare, tmp_path):
    async def open_form(pilot: Pilot) -> None:
        await on_the_timeline(pilot)
        await pilot.press("end", "e")  # sam's own last note
        await pilot.press(*" (eu-west only)", "enter", *"it was one region")
        await pilot.pause()

    assert snap_of_sam(snap_compare, tmp_path, (80, 24), open_form)
