"""Each role's console on a real hub: where it opens, its main keys, and what observers cannot do."""

from __future__ import annotations

import contextlib

import pytest
from textual.widgets import Input, Label, TabbedContent

from tests.console_helpers import console_session, screen_text
from warroom.console.panes import HOME_PANE, PANES
from warroom.console.screens.console import ConsoleScreen
from warroom.console.widgets.pane import IncidentPane
from warroom.console.widgets.status_bar import StatusBar
from warroom.console.widgets.timeline import TimelinePane
from warroom.core.incident import NoteAdded
from warroom.core.roles import Role


def active_tab(app) -> str:
    return app.screen.query_one(TabbedContent).active


def footer_keys(app) -> set[str]:
    """The keys the console offers right now (what the footer and help are built from)."""
    return {key for key, b in app.screen.active_bindings.items() if b.enabled}


@pytest.mark.parametrize("role", ["ic", "scribe", "comms", "lead", "responder", "observer"])
async def test_each_role_opens_on_its_own_work(tmp_path, role):
    name = "ana" if role == "ic" else f"{role}-1"
    async with console_session(tmp_path, name=name, role=role, size=(80, 24)) as s:
        assert isinstance(s.app.screen, ConsoleScreen)
        assert active_tab(s.app) == HOME_PANE[Role(role)]
        home = s.app.screen.query_one(f"#pane-{HOME_PANE[Role(role)]}", IncidentPane)
        bar = s.app.screen.query_one(StatusBar)

        def settled() -> bool:
            """The focus and the bar follow "live" by a frame or two (more on a busy machine)."""
            focused = s.app.focused
            return (
                focused is not None
                and home in focused.ancestors
                and str(bar.query_one("#sb-link", Label).render()) == "● live"
            )

        with contextlib.suppress(AssertionError):
            await s.wait_for(settled, timeout=5)
        focused = s.app.focused
        assert focused is not None
        assert home in focused.ancestors, "the home pane's keys work without a click"
        assert bar.state.title == "Checkout errors after deploy"
        assert str(bar.query_one("#sb-link", Label).render()) == "● live"


async def test_every_pane_is_one_key_away(tmp_path):
    async with console_session(tmp_path, name="rita", role="responder") as s:
        for spec in PANES:
            await s.pilot.press(spec.key)
            assert active_tab(s.app) == spec.id
        # and the mouse works too: a click on a tab shows its pane
        await s.pilot.click("#--content-tab-timeline")
        assert active_tab(s.app) == "timeline"


async def test_scribe_records_a_finding_with_one_key(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe") as s:
        await s.pilot.press("f", *"error rate 12% on checkout", "enter")
        await s.wait_for(lambda: s.app.client.state.note_count == 1)
        note = s.app.incident_log[-1]
        assert (note.type, note.kind, note.text) == (
            "note_added",
            "finding",
            "error rate 12% on checkout",
        )
        assert (note.actor, note.role) == ("sam", Role.SCRIBE)
        pane = s.app.screen.query_one(TimelinePane)
        last = pane.view.rows[-1]
        assert (last.kind, last.author, last.pending) == ("finding", "sam", False)
        assert last.text == "Finding: error rate 12% on checkout"
        assert s.app.focused is pane.view, "after Enter the scribe is back on the timeline"


@pytest.mark.parametrize("key,kind", [("n", "note"), ("c", "command"), ("d", "decision_heard")])
async def test_each_entry_key_records_its_kind(tmp_path, key, kind):
    async with console_session(tmp_path, name="sam", role="scribe") as s:
        await s.pilot.press(key, *"x1", "enter")
        await s.wait_for(lambda: s.app.client.state.note_count == 1)
        assert s.app.incident_log[-1].kind == kind


async def test_escape_cancels_an_entry_without_sending(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe") as s:
        await s.pilot.press("n", *"half a thought", "escape")
        assert not s.app.screen.query_one("#timeline-entry").display
        assert not s.app.client.outbox
        assert s.app.client.state.note_count == 0


async def test_ic_reaches_the_timeline_and_roster_from_the_decision_log(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic") as s:
        assert active_tab(s.app) == "decisions"
        await s.pilot.press("1", "n", *"paging the db on-call", "enter")
        await s.wait_for(lambda: s.app.client.state.note_count == 1)
        await s.pilot.press("6")
        roles = s.app.screen.query_one("#roster-roles")
        assert roles.get_row("ic")[1] == "ana"


async def test_observers_are_not_offered_write_keys(tmp_path):
    async with console_session(tmp_path, name="olga", role="observer") as s:
        assert active_tab(s.app) == "timeline"
        assert not {"n", "f", "c", "d"} & footer_keys(s.app)
        assert {"slash", "question_mark"} <= footer_keys(s.app), "reading keys stay"
        await s.pilot.press("n", *"sneaky", "enter")
        assert not s.app.screen.query_one("#timeline-entry").display
        assert not s.app.client.outbox
        assert s.app.client.state.note_count == 0
        header = str(s.app.screen.query_one("#timeline-header", Label).render())
        assert "read-only" in header


async def test_a_hub_refusal_shows_in_the_timeline_where_the_entry_was_made(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe") as s:
        pane = s.app.screen.query_one(TimelinePane)
        # Only blanks: valid as a draft, refused by the hub's rule.
        future = pane.send(NoteAdded, text="   ", kind="note")
        reply = await future
        assert reply.op == "error"
        await s.pilot.pause()
        message = s.app.screen.query_one("#entry-message", Label)
        assert message.display
        assert str(message.render()) == f"The hub refused: {reply.message}"


async def test_an_entry_the_console_cannot_build_keeps_the_text(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe") as s:
        await s.pilot.press("n")
        field = s.app.screen.query_one("#entry-input", Input)
        field.max_length = 0
        field.value = "x" * 4001  # longer than any entry may be
        await s.pilot.press("enter")
        assert field.value == "x" * 4001, "nothing typed is lost"
        assert s.app.screen.query_one("#timeline-entry").display
        assert not s.app.client.outbox


async def test_help_lists_the_current_panes_keys(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe", size=(120, 60)) as s:
        await s.pilot.press("question_mark")
        await s.pilot.pause()
        shown = screen_text(s.app)
        pane_part, _, everywhere = shown.partition("Everywhere")
        assert "Timeline pane" in pane_part
        assert "f    Record a finding" in pane_part
        assert "a    Filter by author" in pane_part
        assert "Show the roster pane" in everywhere
        await s.pilot.press("escape")
        assert isinstance(s.app.screen, ConsoleScreen)


async def test_the_palette_offers_the_panes_actions(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe") as s:
        titles = [c.title for c in s.app.get_system_commands(s.app.screen)]
        assert "Timeline: Record a finding: something now known" in titles
        assert "Go to Roster" in titles
        assert "Theme: warroom-contrast" in titles


async def test_the_palette_offers_observers_no_writing(tmp_path):
    async with console_session(tmp_path, name="olga", role="observer") as s:
        titles = [c.title for c in s.app.get_system_commands(s.app.screen)]
        assert not [t for t in titles if "Record" in t or "Add a note" in t]
        assert "Timeline: Show only entries containing some words" in titles


async def test_a_theme_chosen_from_the_palette_recolours_severity(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe") as s:
        badge = s.app.screen.query_one("#sb-severity")
        dark = badge.styles.background
        command = next(c for c in s.app.get_system_commands(s.app.screen)
                       if c.title == "Theme: warroom-light")  # fmt: skip
        command.callback()
        await s.pilot.pause()
        assert s.app.theme == "warroom-light"
        assert badge.styles.background != dark
        assert badge.styles.background.hex.lower() == "#c44900", "light theme's $sev2"


async def test_an_unknown_theme_falls_back_and_says_so(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe", theme="neon") as s:
        assert s.app.theme == "warroom-dark"
        assert any("No theme called 'neon'" in n.message for n in s.app._notifications)


async def test_enter_shows_a_long_entry_in_full_at_80_columns(tmp_path):
    long = "db-3 pool at 100% since the deploy doubled the worker count; " * 2 + "END"
    async with console_session(tmp_path, name="sam", role="scribe", size=(80, 24)) as s:
        await s.pilot.press("n", *long, "enter")
        await s.wait_for(lambda: s.app.client.state.note_count == 1)
        assert "END" not in screen_text(s.app), "too long for one line"
        await s.pilot.press("enter")
        assert "END" in screen_text(s.app).replace("\n", "")
        await s.pilot.press("up")
        assert "END" not in screen_text(s.app), "the detail follows the cursor"
        await s.pilot.press("escape")
        assert not s.app.screen.query_one("#timeline-detail").display
