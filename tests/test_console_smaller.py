"""Issue 16, item 14: the smaller things a trial run found on the console."""

from __future__ import annotations

from pathlib import Path

from tests.console_helpers import (
    INCIDENT_ID,
    console_session,
    incident_list_in_line,
    is_live,
    running_hub,
    screen_text,
    seed_incident,
)
from tests.helpers import T0
from warroom.console.screens.board_add import AddCardForm
from warroom.console.screens.join import JoinScreen
from warroom.console.screens.lifecycle_forms import TriageForm
from warroom.core.clock import ManualClock


async def assert_in_line(s) -> None:  # noqa: ANN001
    """Lined up once the table has drawn the rows it was given (a loaded machine may show the
    header of the previous widths for a frame); a list that stays askew fails."""
    await s.wait_for(lambda: incident_list_in_line(s.app), timeout=5)


async def test_the_incident_list_lines_up_before_and_after_ctrl_l(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", join=False, size=(100, 20)) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await assert_in_line(s)
        await s.pilot.press("enter")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        await s.pilot.press("ctrl+l")
        await s.wait_for(lambda: isinstance(s.app.screen, JoinScreen))
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await assert_in_line(s)
        # The list refreshes itself every few seconds; an incident may appear in an empty list.
        screen = s.app.screen
        rows = list(screen.incidents)  # type: ignore[attr-defined]
        screen.show_incidents([])  # type: ignore[attr-defined]
        await s.pilot.pause()
        screen.show_incidents(rows)  # type: ignore[attr-defined]
        await s.pilot.pause()
        await assert_in_line(s)


async def test_a_drill_is_marked_once(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", join=False, seed=False, size=(100, 20)) as s:
        await seed_incident(s.hub.url, title="DRILL: Checkout errors after deploy", drill=True)
        s.app.screen.action_refresh()  # type: ignore[attr-defined]
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        listed = screen_text(s.app)
        assert "DRILL · Checkout errors after deploy" in listed
        assert "DRILL · DRILL" not in listed
        await s.pilot.press("enter")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        top = screen_text(s.app).splitlines()[0]
        assert "inc-checkout · DRILL · Checkout errors after deploy" in top
        assert "DRILL · DRILL" not in top


async def test_the_evidence_kinds_stay_inside_the_form(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", size=(80, 24)) as s:
        await s.pilot.press("2", "a")
        await s.wait_for(lambda: isinstance(s.app.screen, AddCardForm))
        form = s.app.screen
        await s.pilot.press("tab")  # to the evidence kinds
        assert s.app.focused is form.query_one("#evidence-kind")
        await s.pilot.press("space")  # a dropdown would open here, over the form's border
        await s.pilot.pause()
        box = form.query_one("#form").region
        outside = [
            repr(w)
            for w in form.query("*")
            if w.display and w.region.area and not box.contains_region(w.region)
        ]
        assert outside == []


async def test_the_triage_answer_form_shows_its_input(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", size=(80, 24)) as s:
        await s.pilot.press("7", "t")
        await s.wait_for(lambda: isinstance(s.app.screen, TriageForm))
        text = screen_text(s.app)
        assert "Answer (what the room knows now; Enter sends)" in text
        assert "e.g. EU card payments" in text, "the empty input shows what goes in it"
        await s.pilot.press(*"EU card payments", "enter")
        await s.wait_for(lambda: s.app.client.state.triage.who == "EU card payments")


async def test_at_80_columns_a_long_title_never_hides_the_incident_id(tmp_path: Path) -> None:
    """The id is what people are told to join with (``--incident ID``): a title too long for
    the top line is cut with an ellipsis, never the id."""
    async with running_hub(tmp_path / "hub.db", clock=ManualClock(T0)) as hub:
        await seed_incident(
            hub.url,
            title="Payments latency p99 over 2s since the 14:00 deploy of pricing-service",
        )
        async with console_session(tmp_path, hub=hub, seed=False, size=(80, 24)) as s:
            await s.pilot.pause()
            top = screen_text(s.app).splitlines()[0]
            assert INCIDENT_ID in top, top
            assert "Payments latency" in top and "…" in top, top


async def test_at_80_columns_the_tab_row_stays_put_whichever_pane_is_shown(
    tmp_path: Path,
) -> None:
    """The eight tabs fit 80 columns exactly. They were one cell too wide, so showing a pane on
    the right half (5 to 8) slid the whole row one cell left, and back again for 1 to 4."""
    async with console_session(tmp_path, size=(80, 24)) as s:
        rows = set()
        for key in "56781234":
            await s.pilot.press(key)
            await s.pilot.pause()
            tab_row = screen_text(s.app).splitlines()[2]
            rows.add(tab_row.rstrip())
        assert len(rows) == 1, rows
        [row] = rows
        assert row.startswith(" 1 Timeline") and row.endswith("8 Steps"), row
