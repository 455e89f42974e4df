"""The console while the hub is down: a queued update closes its form, and presence stops lying.

The hub is real and really stopped; the console's clock is a ManualClock, so "thirty seconds
without the hub" is a step of the clock, not a sleep.
"""

from __future__ import annotations

from datetime import timedelta

from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.console_helpers import (
    INCIDENT_ID,
    NOW,
    fixed_clock,
    hub_in_thread,
    is_live,
    link_text,
    make_console,
    screen_text,
)
from tests.helpers import ManualClock, eventually, fast_backoff
from tests.test_console_outbox import a_hub
from warroom.client.sync import OFFLINE_AFTER, IncidentClient, LinkStatus
from warroom.console.screens.comms_form import UpdateForm
from warroom.console.screens.comms_preview import UpdatePreview
from warroom.console.screens.console import ConsoleScreen
from warroom.console.widgets.roster import RosterPane
from warroom.console.widgets.sidebar import RoomSidebar


def updates_stored(db) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM events WHERE type = 'update_published' AND incident_id = ?",
            [INCIDENT_ID],
        ).fetchone()[0]


# --- item 7: a stakeholder update queued while the hub is down -----------------------------------
async def test_an_update_queued_while_the_hub_is_down_closes_its_form_and_is_published_once(
    tmp_path,
):
    async with a_hub(tmp_path) as hub:
        app = make_console(hub.url, name="cy", role="comms")
        async with app.run_test(size=(100, 36)) as pilot:
            await eventually(lambda: is_live(app), timeout=10)
            await hub.stop()
            await eventually(lambda: app.client.status != LinkStatus.LIVE)

            await pilot.press("i")
            await eventually(lambda: isinstance(app.screen, UpdateForm))
            await pilot.press("ctrl+s")
            await eventually(lambda: isinstance(app.screen, UpdatePreview))
            await pilot.press("ctrl+s")
            # Queued: the preview AND the template close; the update waits like a note.
            await eventually(lambda: isinstance(app.screen, ConsoleScreen))
            await pilot.pause()
            [queued] = app.client.outbox.values()
            assert queued.type == "update_published"
            assert "· 1 pending" in link_text(app)
            assert "◷ 1 update queued: published when the link is back." in screen_text(app)

            await hub.start()
            await eventually(lambda: is_live(app) and not app.client.outbox, timeout=10)
            # What used to publish a duplicate: two more ctrl+s once the link is back.
            await pilot.press("ctrl+s", "ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, ConsoleScreen)
            assert len(app.client.state.comms.updates) == 1
        await hub.stop()
        assert updates_stored(hub.db) == 1


# --- item 9: presence during an outage -------------------------------------------------------------
async def test_after_a_while_without_the_hub_the_link_is_offline_and_presence_unknown(tmp_path):
    clock = fixed_clock()
    async with a_hub(tmp_path) as hub:
        lee = IncidentClient(hub.url, "lee", "lead", INCIDENT_ID, backoff=fast_backoff())
        lee.start()
        await lee.wait_synced()
        app = make_console(hub.url, name="ana", role="ic", clock=clock)
        try:
            async with app.run_test(size=(140, 45)) as pilot:
                await eventually(lambda: is_live(app) and "lee" in app.client.state.online)
                await pilot.press("6")
                await pilot.pause()
                roster = app.screen.query_one(RosterPane)
                people = roster.query_one("#roster-people", DataTable)
                sidebar = app.screen.query_one(RoomSidebar)

                def row(name: str) -> list[str]:
                    return [str(c) for c in people.get_row(name)]

                assert row("lee")[0] == "●" and row("lee")[-1] == "online"
                assert "2 online: ana, lee" in screen_text(app)

                await hub.stop()
                await eventually(lambda: app.client.status == LinkStatus.RECONNECTING)
                # Just lost: the room as last known, and the console says it is reconnecting.
                await eventually(lambda: link_text(app) == "◌ reconnecting")
                assert row("lee")[0] == "●"

                clock.advance(OFFLINE_AFTER - timedelta(seconds=1))
                await pilot.pause(0.3)
                assert app.client.status == LinkStatus.RECONNECTING
                clock.advance(timedelta(seconds=1))
                await eventually(lambda: app.client.status == LinkStatus.OFFLINE, timeout=3)
                await eventually(lambda: link_text(app) == "○ offline for 30s")
                await pilot.pause()
                assert row("lee")[0] == "?" and row("lee")[-1] == "was online"
                assert row("ana")[0] == "○" and row("ana")[-1] == "offline"
                text = screen_text(app)
                assert "presence unknown: the hub is unreachable" in text
                assert "Presence unknown: the hub is unreachable" in text
                assert "2 online" not in text and "online: " not in str(sidebar.render())

                # Twelve minutes on, still offline (not "reconnecting"), still trying.
                clock.advance(timedelta(minutes=12))
                attempts = app.client.backoff.attempt
                await eventually(lambda: app.client.backoff.attempt > attempts + 1, timeout=5)
                assert app.client.status == LinkStatus.OFFLINE

                await hub.start()
                await eventually(lambda: is_live(app), timeout=10)
                await eventually(lambda: "lee" in app.client.state.online, timeout=10)
                await eventually(lambda: link_text(app) == "● live")
                # The roster redraws on the state that follows the link: wait for it too.
                await eventually(lambda: row("lee")[0] == "●" and row("lee")[-1] == "online")
                await pilot.pause()
                assert "2 online: ana, lee" in screen_text(app)
        finally:
            await lee.close()


def test_snapshot_offline_with_presence_unknown_80x24(snap_compare, tmp_path):
    clock = ManualClock(NOW)
    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        peer = IncidentClient(hub.url, "lee", "lead", INCIDENT_ID, backoff=fast_backoff())

        async def join_peer() -> None:
            peer.start()
            await peer.wait_synced()

        hub.call(join_peer())
        app = make_console(hub.url, name="ana", role="ic", clock=clock)

        async def go_offline(pilot: Pilot) -> None:
            await eventually(lambda: is_live(app) and "lee" in app.client.state.online)
            hub.call(hub._stack.aclose())  # the hub stops (its thread stays for the peer)
            await eventually(lambda: app.client.status != LinkStatus.LIVE)
            await pilot.press("1", "n", *"rolled back checkout-api", "enter", "6")
            clock.advance(OFFLINE_AFTER)
            await eventually(lambda: app.client.status == LinkStatus.OFFLINE, timeout=3)
            await pilot.pause()
            hub.call(peer.close())

        assert snap_compare(app, terminal_size=(80, 24), run_before=go_offline)
