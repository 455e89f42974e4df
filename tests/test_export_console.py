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
