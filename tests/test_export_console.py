"""Exporting from the console: the command palette's two entries, against a real hub."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.widgets import Input

from tests.console_helpers import INCIDENT_ID, console_session
from warroom.console.export import DRAFT, SQLITE, ExportPathScreen
from warroom.console.screens.console import ConsoleScreen
from warroom.core.incident import NoteAdded


def notes(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def choose(s, query: str, title: str) -> None:
    """Open the palette, type ``query``, see ``title`` offered and run it, as a person would."""
    await s.palette(query, title)
    await s.wait_for(lambda: isinstance(s.app.screen, ExportPathScreen))


async def test_the_palette_exports_to_sqlite_where_asked(tmp_path: Path):
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 40)) as s:
        bo = await s.peer("bo", "responder")
        assert (await bo.post(NoteAdded(text="pool exhausted on payments-db"))).op == "ack"
        await s.wait_for(lambda: s.app.client.state.note_count == 1)
        titles = [c.title for c in s.app.get_system_commands(s.app.screen)]
        assert SQLITE in titles and DRAFT in titles

        await choose(s, "sqlite", SQLITE)
        field = s.app.screen.query_one("#export-path", Input)
        assert field.value == f"{INCIDENT_ID}.db"  # the current directory unless told otherwise
        target = tmp_path / "reviews" / "checkout.db"
        field.value = str(target)
        await s.pilot.press("enter")
        await s.wait_for(lambda: any("Wrote" in n for n in notes(s.app)), timeout=10)
        assert isinstance(s.app.screen, ConsoleScreen)

        expected = f"{SQLITE}: Wrote {len(s.app.client.log)} events to {target.resolve()}"
        assert expected in notes(s.app)
        with sqlite3.connect(target) as db:
            assert db.execute("SELECT id FROM incidents").fetchall() == [(INCIDENT_ID,)]
            events = db.execute("SELECT count(*) FROM events").fetchone()[0]
            assert events == len(s.app.client.log)
            found = db.execute(
                "SELECT t.actor FROM timeline_fts JOIN timeline t ON t.rowid = timeline_fts.rowid "
                "WHERE timeline_fts MATCH 'exhausted'"
            ).fetchall()
            assert found == [("bo",)]
        # Exporting is reading: nothing was added to the incident.
        assert s.hub.hub.rooms[INCIDENT_ID].head == events


async def test_the_palette_writes_the_draft_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with console_session(tmp_path, name="sam", role="scribe", size=(120, 40)) as s:
        await choose(s, "postmortem", DRAFT)
        await s.pilot.press("enter")  # keep the offered name
        written = tmp_path / f"{INCIDENT_ID}-review.md"
        await s.wait_for(lambda: any("Wrote" in n for n in notes(s.app)), timeout=10)
        assert f"{DRAFT}: Wrote {len(s.app.client.log)} events to {written}" in notes(s.app)
        text = written.read_text(encoding="utf-8")
        assert text.startswith("# Incident review: Checkout errors after deploy\n")
        assert "## Follow-ups" in text


async def test_escape_writes_nothing_and_a_bad_path_says_why(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 40)) as s:
        await choose(s, "sqlite", SQLITE)
        await s.pilot.press("escape")
        await s.wait_for(lambda: isinstance(s.app.screen, ConsoleScreen))
        assert not (tmp_path / f"{INCIDENT_ID}.db").exists()

        not_sqlite = tmp_path / "notes.db"
        not_sqlite.write_text("these are notes, not a database\n")
        await choose(s, "sqlite", SQLITE)
        s.app.screen.query_one("#export-path", Input).value = str(not_sqlite)
        await s.pilot.press("enter")
        await s.wait_for(lambda: any("not written" in n for n in notes(s.app)), timeout=10)
        assert not_sqlite.read_text() == "these are notes, not a database\n"


async def test_an_observer_may_export_too(tmp_path):
    """Reading the record is not writing to it: observers get both entries."""
    async with console_session(tmp_path, name="olga", role="observer") as s:
        titles = [c.title for c in s.app.get_system_commands(s.app.screen)]
        assert SQLITE in titles and DRAFT in titles


async def test_a_console_that_joined_by_snapshot_exports_the_whole_record(tmp_path: Path):
    """Joined by snapshot, the console holds only the latest events: the export fetches the
    older pages first, so the file holds every event from the first one."""
    from datetime import timedelta

    from warroom.hub.storage import Store

    from tests.console_helpers import INCIDENT
    from tests.helpers import T0, make_event
    from warroom.core.fold import replay
    from warroom.core.protocol import TAIL

    declared = make_event("incident_declared", 1, actor="ana", incident_id=INCIDENT_ID, **INCIDENT)
    events = [declared] + [
        make_event(
            "note_added",
            i + 2,
            actor="bo",
            role="responder",
            incident_id=INCIDENT_ID,
            at=T0 + timedelta(seconds=i),
            text=f"entry {i}",
        )  # fmt: skip
        for i in range(TAIL * 3)
    ]
    store = Store(tmp_path / "hub.db")
    try:
        store.append(events, [replay(events)])
    finally:
        store.close()
    async with console_session(tmp_path, name="cy", role="responder", seed=False) as s:
        if not isinstance(s.app.screen, ConsoleScreen):
            await s.pilot.press("enter")  # a late joiner is read in first; close it
        client = s.app.client
        assert client.log[0].seq > 1 and not client.history_complete  # joined by snapshot
        await choose(s, "sqlite", SQLITE)
        target = tmp_path / "whole.db"
        s.app.screen.query_one("#export-path", Input).value = str(target)
        await s.pilot.press("enter")
        await s.wait_for(lambda: any("Wrote" in n for n in notes(s.app)), timeout=20)
        head = s.hub.hub.rooms[INCIDENT_ID].head
        with sqlite3.connect(target) as db:
            seqs = [r[0] for r in db.execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, head + 1))
        assert seqs[0] == 1 and head > TAIL * 3
