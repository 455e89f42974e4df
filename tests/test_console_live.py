"""Consoles stay live: what one console records appears in the others, and the link heals."""

from __future__ import annotations

import contextlib

from warroom.hub.app import HubConfig, HubServer

from tests.console_helpers import (
    INCIDENT_ID,
    console_session,
    is_live,
    link_text,
    make_console,
    screen_text,
    seed_incident,
)
from tests.helpers import T0, ManualClock, eventually, free_port
from warroom.client.sync import LinkStatus
from warroom.console.widgets.timeline import TimelinePane


async def test_an_entry_in_one_console_appears_in_the_other(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe") as scribe:
        other = make_console(scribe.hub.url, name="rita", role="responder")
        async with other.run_test(size=(100, 30)) as pilot:
            await eventually(lambda: is_live(other))
            await scribe.pilot.press("f", *"pool exhausted on db-3", "enter")
            # No key pressed in the responder's console: the entry arrives by itself.
            await eventually(lambda: other.client.state.note_count == 1)
            await pilot.pause()
            await pilot.press("1")
            assert "Finding: pool exhausted on db-3" in screen_text(other)
            pane = other.screen.query_one(TimelinePane)
            assert pane.view.rows[-1].author == "sam"


async def test_the_console_follows_the_room_as_people_join(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic") as s:
        await s.peer("lee", "lead")
        await s.wait_for(lambda: "lee" in s.app.client.state.participants)
        await s.pilot.press("6")
        roles = s.app.screen.query_one("#roster-roles")
        assert roles.get_row("lead")[1] == "lee"


async def test_reconnecting_then_live_with_pending_entries_delivered(tmp_path):
    db, port = tmp_path / "hub.db", free_port()
    clock = ManualClock(T0)

    def hub() -> HubServer:
        return HubServer(HubConfig(host="127.0.0.1", port=port, db=db, timer_interval=0), clock)

    first = hub()
    await first.start()
    second: HubServer | None = None
    try:
        await seed_incident(first.url)
        app = make_console(first.url, name="sam", role="scribe")
        async with app.run_test(size=(100, 30)) as pilot:
            await eventually(lambda: is_live(app))
            # The status bar hears of the link after the client does: wait for what it shows.
            await eventually(lambda: link_text(app) == "● live")

            await first.stop()
            await eventually(lambda: app.client.status == LinkStatus.RECONNECTING)
            await eventually(lambda: link_text(app) == "◌ reconnecting")

            await pilot.press("n", *"written while the hub was down", "enter")
            await pilot.press("f", *"second", "enter", "c", *"third", "enter")
            await eventually(lambda: link_text(app) == "◌ reconnecting · 3 pending")
            pane = app.screen.query_one(TimelinePane)
            assert pane.view.rows[-1].pending
            assert "◷ written while the hub was down" in screen_text(app)

            second = hub()
            await second.start()
            await eventually(lambda: is_live(app) and not app.client.outbox, timeout=10)
            await eventually(lambda: link_text(app) == "● live")
            assert not any(row.pending for row in pane.view.rows)
            shown = [r.text for r in pane.view.rows if r.kind in ("note", "finding", "command")]
            assert shown == ["written while the hub was down", "Finding: second", "Ran: third"]
            stored = second.hub.rooms[INCIDENT_ID].state.note_count
            assert stored == 3, "the hub stored each pending entry exactly once"
    finally:
        for server in (first, second):
            if server is not None:
                with contextlib.suppress(Exception):
                    await server.stop()
