"""The side column's latest lines: each says who acted, once."""

from __future__ import annotations

from tests.console_helpers import console_session, screen_text
from warroom.console.widgets.sidebar import TimelineTail
from warroom.core.incident import NoteAdded


async def test_the_latest_lines_name_the_person_once(tmp_path) -> None:
    """Seen in tmux at 140x45: "16:43 bo bo asked for the production lock"."""
    async with console_session(tmp_path, name="bo", role="lead", size=(140, 45)) as s:
        cy = await s.peer("cy", "scribe")
        await cy.post(NoteAdded(kind="note", text="checking the pool graphs"))
        await s.pilot.press("4", "l")
        tail = s.app.screen.query_one(TimelineTail)
        await s.wait_for(
            lambda: any("asked for the production lock" in e.text for e in tail.entries)
        )
        await s.wait_for(lambda: "asked for the production lock" in screen_text(s.app))
        shown = screen_text(s.app)
        assert "bo asked for the production lock" in shown
        assert "bo bo asked" not in shown
        assert "cy checking the pool graphs" in shown, "a line not naming its author still does"
