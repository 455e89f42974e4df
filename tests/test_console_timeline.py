"""The timeline with a long incident: 10,000 entries stay scrollable, filterable and live."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from textual.widgets import Label
from warroom.hub.storage import Store

from tests.console_helpers import INCIDENT, INCIDENT_ID, console_session, screen_text
from tests.helpers import T0, make_event
from warroom.console.screens.console import ConsoleScreen
from warroom.console.widgets.timeline import TimelinePane
from warroom.core.fold import replay

KINDS = ("note", "finding", "command")
AUTHORS = ("sam", "rita", "lee")
ENTRIES = 10_000


def write_long_incident(db: Path) -> None:
    """A stored incident of 10,000 notes, written through the hub's own storage."""
    declared = make_event("incident_declared", 1, actor="ana", role="ic", incident_id=INCIDENT_ID,
                          **{k: v for k, v in INCIDENT.items()})  # fmt: skip
    events = [declared]
    for i in range(ENTRIES):
        events.append(make_event(
            "note_added", i + 2, actor=AUTHORS[i % 3], role="responder", incident_id=INCIDENT_ID,
            at=T0 + timedelta(seconds=i), text=f"entry {i}", kind=KINDS[i % 3],
        ))  # fmt: skip
    store = Store(db)
    try:
        store.append(events, [replay(events)])
    finally:
        store.close()


def header(app) -> str:
    return str(app.screen.query_one("#timeline-header", Label).render())


async def test_ten_thousand_entries_stay_usable(tmp_path):
    write_long_incident(tmp_path / "hub.db")
    started = time.monotonic()
    async with console_session(tmp_path, name="sam", role="scribe", seed=False) as s:
        synced = time.monotonic() - started
        if not isinstance(s.app.screen, ConsoleScreen):
            await s.pilot.press("enter")  # a late joiner is read in first; close it
        assert isinstance(s.app.screen, ConsoleScreen)
        pane = s.app.screen.query_one(TimelinePane)
        view = pane.view
        assert synced < 30, f"joining a 10,000-entry incident took {synced:.1f}s"
        assert "entry 9999" in screen_text(s.app), "opens at the newest entry"
        # Joined by snapshot: the newest entries are there; Home at the top of what is held
        # brings the page before it (protocol 2 ``history``), until the whole record is in.
        client = s.app.client
        while not client.history_complete:
            held = len(view.entries)
            await s.pilot.press("home")
            await s.wait_for(lambda held=held: len(view.entries) > held or client.history_complete)
        assert len(view.entries) >= ENTRIES + 1
        assert [e.seq for e in view.entries] == sorted({e.seq for e in view.entries})
        # The view draws only what is on screen: one widget, not one per entry.
        assert len(pane.query("*")) < 20

        await s.pilot.press("home")
        assert view.cursor == 0 and not view.follow
        assert "SEV2 declared" in screen_text(s.app)
        assert "scrolled back" in header(s.app)

        await s.pilot.press("k", "k")  # declared, then note
        assert view.kind == "note"
        assert all(e.kind == "note" for e in view.rows)
        assert f"{len(view.rows):,} of" in header(s.app)

        await s.pilot.press("a")  # first author seen: ana (declared) -> no notes by ana
        await s.pilot.press("a")
        assert view.author == "sam"
        assert all(e.author == "sam" and e.kind == "note" for e in view.rows)
        assert len(view.rows) == ENTRIES // 3 + 1

        await s.pilot.press("escape")
        shown = [e for e in view.entries if e.kind != "presence"]  # arrivals stay folded
        assert (view.kind, view.author, len(view.rows)) == (None, None, len(shown))

        await s.pilot.press("slash", *"entry 4242", "enter")
        assert [e.text for e in view.rows] == ["entry 4242"]
        await s.pilot.press("escape")

        await s.pilot.press("end")
        assert view.follow and view.cursor == len(view.rows) - 1

        # Still live at the bottom of a long record: a new entry is followed.
        took = time.monotonic()
        await s.pilot.press("n", *"still here", "enter")
        # (the record's last entry is hours past the console's clock, so the line also says
        # when it was typed: "still here  ◷ typed 09:03:00, received 11:46:40")
        await s.wait_for(
            lambda: view.rows[-1].text.startswith("still here") and not view.rows[-1].pending
        )
        assert "still here" in screen_text(s.app)
        assert time.monotonic() - took < 10
