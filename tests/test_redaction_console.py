"""Redacting from the console (issue 23, item 2), pressing keys on a real hub: ``x`` on a
timeline row opens the redaction form (IC or scribe); the entry then reads
``[redacted by <who>: <reason>]`` on every console at once, and no console keeps the text.
For anyone else the key says why not."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.console_helpers import (
    INCIDENT_ID,
    console_session,
    hub_in_thread,
    make_console,
    screen_text,
)
from tests.helpers import client, eventually
from tests.test_corrections_snapshots import SIZES, on_the_timeline
from warroom.console.screens.console import ConsoleScreen
from warroom.console.screens.timeline_correct import RedactForm
from warroom.console.widgets.sidebar import TimelineTail
from warroom.console.widgets.timeline import TimelinePane
from warroom.core.corrections import EntryAmended
from warroom.core.incident import NoteAdded

SECRET = "hunter2-Pr0d-db-PASSWORD"
PASTED = f"psql -p {SECRET} prod"
REASON = "database password pasted"


async def test_the_scribe_redacts_with_x_and_every_console_loses_the_text(tmp_path) -> None:
    async with console_session(tmp_path, name="sam", role="scribe", size=(160, 40)) as s:
        bo = await s.peer("bo", "responder")
        ana = await s.peer("ana", "ic")
        note = await bo.post(NoteAdded(kind="command", text=PASTED))
        await s.wait_for(lambda: SECRET in screen_text(s.app))
        await s.pilot.press("1")
        view = s.app.screen.query_one(TimelinePane).view
        view.focus()
        await s.pilot.press("end")
        assert view.current is not None and view.current.seq == note.seq

        await s.pilot.press("x")
        assert isinstance(s.app.screen, RedactForm)
        assert "The text goes for good" in screen_text(s.app)
        assert SECRET in screen_text(s.app), "the form shows which entry it blanks"
        await s.pilot.press(*REASON, "enter")
        await s.wait_for(lambda: isinstance(s.app.screen, ConsoleScreen))
        client = s.app.client
        assert client is not None
        await s.wait_for(lambda: note.seq in client.state.redactions)

        marker = f"[redacted by sam: {REASON}]"
        await s.wait_for(lambda: marker in screen_text(s.app))
        assert SECRET not in screen_text(s.app), "gone from the timeline and the side column"
        row = next(e for e in view.entries if e.seq == note.seq)
        assert row.text == f"Ran: {marker}"
        tail = s.app.screen.query_one(TimelineTail)
        assert all(SECRET not in e.text for e in tail.entries)
        # every copy: this console's log and state, and the other people's consoles
        for c in (client, bo, ana):
            await eventually(lambda c=c: note.seq in c.state.redactions)
            assert all(SECRET not in e.model_dump_json() for e in c.log)
            assert SECRET not in c.state.model_dump_json()


async def test_x_on_an_amendment_redacts_the_entry_it_amends(tmp_path) -> None:
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 30)) as s:
        bo = await s.peer("bo", "responder")
        note = await bo.post(NoteAdded(kind="command", text=PASTED))
        await bo.post(EntryAmended(entry=note.seq, text=PASTED + " -W", reason="flag"))
        await s.pilot.press("1")
        view = s.app.screen.query_one(TimelinePane).view
        await s.wait_for(lambda: any(e.kind == "amended" for e in view.rows))
        view.focus()
        await s.pilot.press("end")
        assert view.current is not None and view.current.kind == "amended"
        await s.pilot.press("x")
        assert isinstance(s.app.screen, RedactForm)
        assert s.app.screen.event.seq == note.seq, "the form names the entry amended"
        await s.pilot.press(*REASON, "enter")
        client = s.app.client
        assert client is not None
        await s.wait_for(lambda: note.seq in client.state.redactions)
        await s.wait_for(lambda: SECRET not in screen_text(s.app))
        assert all(SECRET not in e.model_dump_json() for e in client.log)


@pytest.mark.parametrize(("who", "seat"), [("bo", "responder"), ("dee", "lead")])
async def test_for_anyone_else_x_says_why_not(tmp_path, who: str, seat: str) -> None:
    async with console_session(tmp_path, name=who, role=seat, size=(120, 30)) as s:
        await s.pilot.press("1", "n", *PASTED, "enter")
        client = s.app.client
        assert client is not None
        await s.wait_for(lambda: client.state.note_count == 1)
        view = s.app.screen.query_one(TimelinePane).view
        await s.wait_for(lambda: not view.pending)
        await s.pilot.press("x")
        assert isinstance(s.app.screen, ConsoleScreen), "no form opens"
        await s.wait_for(
            lambda: any("Only the IC or the scribe" in n.message for n in s.app._notifications)
        )
        assert client.state.redactions == {}


def a_record_with_a_secret(hub) -> None:
    hub.seed()

    async def record() -> None:
        bo = await client(hub.url, "bo", "responder", INCIDENT_ID)
        try:
            await bo.post(NoteAdded(text="checkout-api rolled back to v411"))
            await bo.post(NoteAdded(kind="command", text=PASTED))
        finally:
            await bo.close()

    hub.call(record())


def test_the_redaction_form(snap_compare, tmp_path) -> None:
    async def open_form(pilot: Pilot) -> None:
        await on_the_timeline(pilot)
        await pilot.press("end", "up", "x", *REASON)  # the pasted command, above sam's role
        await pilot.pause()

    with hub_in_thread(tmp_path) as hub:
        a_record_with_a_secret(hub)
        app = make_console(hub.url, name="sam", role="scribe")
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_form)


@pytest.mark.parametrize("size", SIZES)
def test_the_timeline_after_a_redaction(snap_compare, tmp_path, size) -> None:
    async def redact(pilot: Pilot) -> None:
        await on_the_timeline(pilot)
        await pilot.press("end", "up", "x", *REASON, "enter")
        app = pilot.app
        await eventually(lambda: bool(app.client.state.redactions))  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.pause()

    with hub_in_thread(tmp_path) as hub:
        a_record_with_a_secret(hub)
        app = make_console(hub.url, name="sam", role="scribe")
        assert snap_compare(app, terminal_size=SIZES[size], run_before=redact)
