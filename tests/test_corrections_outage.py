"""A note typed while the hub is down keeps the time it was typed (issue 23, item 3).

The hub is a real process killed with SIGKILL; the console that typed the note quits keeping its
outbox, and the next console sends it once the hub is back. The note is stored with the hub's
``at`` (when it finally arrived) and, beside it, the ``noted_at`` of the moment its person
pressed Enter; the timeline shows both.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta

from tests.console_helpers import INCIDENT_ID, is_live, make_console, seed_incident
from tests.helpers import HubProcess, ManualClock, eventually
from tests.test_console_outbox import outbox_files
from warroom.client.sync import LinkStatus
from warroom.console.widgets.timeline import TimelinePane

TEXT = "failover to db-2 started"


def stored(db) -> list[dict]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT at, payload FROM events WHERE incident_id = ? AND type = 'note_added'",
            [INCIDENT_ID],
        ).fetchall()
    return [{"at": at, **json.loads(payload)} for at, payload in rows]


async def test_a_note_typed_offline_keeps_its_noted_time_across_a_hub_sigkill(tmp_path) -> None:
    hub = HubProcess(tmp_path / "hub.db")
    hub.start()
    try:
        await seed_incident(hub.url)
        # The person pressed Enter 90 seconds before the hub will have the note: the console's
        # clock says so (no real waiting).
        typed = (datetime.now(UTC) - timedelta(seconds=90)).replace(microsecond=0)
        first = make_console(hub.url, name="sam", role="scribe", clock=ManualClock(typed))
        async with first.run_test(size=(100, 30)) as pilot:
            await eventually(lambda: is_live(first), timeout=15)
            hub.kill()  # SIGKILL: no goodbye to anyone
            client = first.client
            assert client is not None
            await eventually(lambda: client.status != LinkStatus.LIVE, timeout=10)
            await pilot.press("1", "n", *TEXT, "enter")
            await pilot.pause()
            (saved,) = [c for f in outbox_files() for c in json.loads(f.read_text())["commands"]]
            assert saved["text"] == TEXT
            assert datetime.fromisoformat(saved["noted_at"]) == typed  # on disk, with its time
            await pilot.press("ctrl+q", "ctrl+q")  # quit, keeping the outbox
            await pilot.pause()
        assert stored(hub.db) == []

        hub.start()
        second = make_console(hub.url, name="sam", role="scribe", clock=ManualClock(typed))
        async with second.run_test(size=(140, 30)) as pilot:
            await eventually(lambda: outbox_files() == [], timeout=20)
            (note,) = stored(hub.db)
            assert note["text"] == TEXT
            assert datetime.fromisoformat(note["noted_at"]) == typed
            received = datetime.fromisoformat(note["at"])
            assert received - typed >= timedelta(seconds=90)
            pane = second.screen.query_one(TimelinePane)
            await pilot.press("1")
            await eventually(lambda: any(TEXT in e.text for e in pane.view.entries), timeout=10)
            (row,) = [e for e in pane.view.entries if TEXT in e.text]
            assert row.text == (
                f"{TEXT}  ◷ typed {typed:%H:%M:%S}, received {received.astimezone(UTC):%H:%M:%S}"
            )
    finally:
        hub.kill()
