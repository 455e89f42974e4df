"""The timeline keeps to the incident: arrivals and departures fold away, roles read true.

Issue 16, item 12: ``joined``/``went offline`` rows buried the findings, and the role column
said ``resp`` for someone who held a seat (the hub stamps the role as it stood before the event,
so the arrival of someone taking a vacant seat, and the seat being given, were both ``resp``).
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Label

from tests.console_helpers import console_session, screen_text
from warroom.console.widgets.timeline import TimelinePane
from warroom.core.incident import NoteAdded


def header(app) -> str:
    return str(app.screen.query_one("#timeline-header", Label).render())


async def room_with_comings_and_goings(s) -> None:
    dee = await s.peer("dee", "lead")  # the lead's seat is vacant: dee takes it
    bo = await s.peer("bo", "responder")
    await bo.post(NoteAdded(text="p99 is flat in the US", kind="finding"))
    await dee.post(NoteAdded(text="pool at 100% on db-primary", kind="finding"))
    await bo.close()
    s._peers.remove(bo)
    await s.wait_for(lambda: "bo" not in s.app.client.state.online)


async def test_presence_rows_are_folded_until_p_shows_them(tmp_path: Path) -> None:
    async with console_session(tmp_path, name="sam", role="scribe", size=(80, 24)) as s:
        await room_with_comings_and_goings(s)
        pane = s.app.screen.query_one(TimelinePane)
        view = pane.view
        await s.wait_for(lambda: any(e.text == "bo went offline" for e in view.entries))
        kinds = [row.kind for row in view.rows]
        assert "presence" not in kinds
        assert "finding" in kinds
        text = screen_text(s.app)
        assert "joined as" not in text and "went offline" not in text
        assert "pool at 100% on db-primary" in text
        assert "joins folded · p shows" in header(s.app), "the header line names the key"
        assert "? Help" in text.splitlines()[-1], "the footer keeps Help at 80 columns too"

        await s.pilot.press("p")
        assert [e.text for e in view.rows if e.kind == "presence"] == [
            "sam joined as scribe",
            "dee joined as technical lead",
            "bo joined as responder",
            "bo went offline",
        ]
        assert "bo went offline" in screen_text(s.app)
        assert "joins shown · p folds" in header(s.app)

        await s.pilot.press("p")
        assert "presence" not in [row.kind for row in view.rows]


async def test_the_role_column_shows_the_role_held(tmp_path: Path) -> None:
    async with console_session(tmp_path, name="sam", role="scribe", size=(120, 30)) as s:
        await room_with_comings_and_goings(s)
        view = s.app.screen.query_one(TimelinePane).view
        await s.wait_for(lambda: any(e.text == "bo went offline" for e in view.entries))
        roles = {(e.author, e.text): e.role for e in view.entries}
        assert roles[("dee", "dee joined as technical lead")] == "lead"
        assert roles[("dee", "dee is now technical lead")] == "lead"
        assert roles[("dee", "Finding: pool at 100% on db-primary")] == "lead"
        assert roles[("bo", "bo joined as responder")] == "responder"
        assert roles[("sam", "sam is now scribe")] == "scribe"
        await s.pilot.press("p")
        line = next(x for x in screen_text(s.app).splitlines() if "dee joined" in x)
        assert " lead " in line and " resp " not in line
