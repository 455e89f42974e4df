"""The footer follows the pane in front, for the whole session (issue 16, item 2).

The footer coalesces binding refreshes. It used to schedule its redraw with
``call_after_refresh``, which Textual runs after the refresh of whichever screen is in front at
that moment: when that screen was a form that closed before its next refresh (the hub's answer
and the new card arriving together as the form closes), the redraw was dropped with the form, the
footer thought one was still queued, and it never redrew again: `a Add ? Help` on every pane,
and the board's `x Retract` on the Lock pane where `x` means something else.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from textual._context import active_message_pump
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tests.console_helpers import console_session, screen_text
from warroom.console.screens.board_form import CommandForm
from warroom.console.screens.console import ConsoleScreen
from warroom.console.widgets.footer import CalmFooter
from warroom.console.widgets.lock import LockPane
from warroom.console.widgets.pane import IncidentPane
from warroom.core.board import BoardItemAdded, ItemStatus
from warroom.core.lock import LockReleased, LockRequested


def shown_keys(app) -> list[tuple[str, str]]:
    """The (key, description) pairs the console screen's footer draws right now."""
    console = next(s for s in app.screen_stack if isinstance(s, ConsoleScreen))
    footer = console.query_one(Footer)
    return [
        (k.key, k.description)
        for k in footer.query(FooterKey)
        if k.display and not k.has_class("-command-palette")
    ]


def offered_keys(app) -> list[tuple[str, str]]:
    """What the footer should draw: the shown bindings of the screen's active chain."""
    console = next(s for s in app.screen_stack if isinstance(s, ConsoleScreen))
    return [
        (b.key, b.description)
        for (_, b, _, _) in console.active_bindings.values()
        if b.show and b.key != app.COMMAND_PALETTE_BINDING
    ]


async def assert_footer_follows_every_pane(s) -> None:
    for key in "1234567":
        await s.pilot.press(key)
        await s.pilot.pause()
        with contextlib.suppress(AssertionError):
            await s.wait_for(lambda: shown_keys(s.app) == offered_keys(s.app), timeout=3)
        assert shown_keys(s.app) == offered_keys(s.app), f"pane {key}"


async def test_footer_keeps_following_panes_after_a_form_closes_as_the_board_changes(
    tmp_path: Path,
) -> None:
    async with console_session(tmp_path, role="ic", size=(140, 45)) as s:
        await s.pilot.press("2", "a")
        await s.pilot.pause()
        form = s.app.screen
        assert isinstance(form, CommandForm)
        # The incident changes (the board pane asks for its keys to be redrawn) in the very
        # moment the form closes, before the form is drawn again.
        board = s.app.screen_stack[-2].query_one("#pane-board", IncidentPane)
        board.refresh_bindings()
        form.dismiss(None)
        await s.pilot.pause()
        await assert_footer_follows_every_pane(s)
        # The lock pane's own `x`, never the board's Retract.
        await s.pilot.press("4")
        await s.wait_for(lambda: shown_keys(s.app) == offered_keys(s.app), timeout=3)
        assert ("x", "Retract") not in shown_keys(s.app)


async def test_footer_after_adding_a_fact_and_ruling_out_the_last_guess(tmp_path: Path) -> None:
    """The flows from the trial run, typed without pauses, then every pane in turn."""
    async with console_session(tmp_path, role="ic", size=(140, 45)) as s:
        await s.pilot.press("2", "a", *"pool is full", "enter")
        await s.wait_for(lambda: len(s.app.client.state.board) == 1)
        await assert_footer_follows_every_pane(s)
        peer = await s.peer("bob", "responder")
        await peer.post(BoardItemAdded(kind="guess", text="retry storm", evidence=[]))
        await s.wait_for(lambda: len(s.app.client.state.board) == 2)
        await s.pilot.press("2", "right", "r", *"retries are flat", "enter")
        await s.wait_for(
            lambda: (
                {c.text: c.status for c in s.app.client.state.board.values()}["retry storm"]
                == ItemStatus.RULED_OUT
            )
        )
        await assert_footer_follows_every_pane(s)


def drawn_keys(app) -> list[tuple[str, str, bool, object]]:
    """Every key the footer draws, as drawn: key, text, greyed, tooltip (the palette's too)."""
    console = next(s for s in app.screen_stack if isinstance(s, ConsoleScreen))
    return [
        (k.key, k.description, k.has_class("-disabled"), k.tooltip)
        for k in console.query_one(Footer).query(FooterKey)
        if k.display
    ]


def keys_as_they_stand(app) -> list[tuple[str, str, bool, object]]:
    """What the footer should draw now, built as Textual's own footer builds it."""
    console = next(s for s in app.screen_stack if isinstance(s, ConsoleScreen))
    shown = [
        (b.key, b.description, not enabled, tooltip or None)
        for (_, b, enabled, tooltip) in console.active_bindings.values()
        if b.show
    ]
    palette = console.active_bindings.get(app.COMMAND_PALETTE_BINDING)
    if palette is not None:
        _, b, enabled, _ = palette
        shown.append((b.key, b.description, not enabled, b.tooltip or b.description))
    return shown


async def test_footer_shows_each_key_as_it_stands_after_every_change(tmp_path: Path) -> None:
    """The footer updates the keys it keeps in place (greyed or not, text, tooltip) and hides
    the ones it no longer shows: after each change, and with no wait of its own, it draws the
    keys exactly as they stand, never as they stood when they were last shown."""
    async with console_session(tmp_path, role="ic", size=(140, 45)) as s:
        app = s.app

        async def footer_is_current(why: str) -> None:
            await s.pilot.pause()
            assert drawn_keys(app) == keys_as_they_stand(app), why

        lock = await s.show_pane("4", LockPane)
        await footer_is_current("lock pane")
        force = [k for k in drawn_keys(app) if k[0] == "F"]
        assert force and force[0][2], "force release is greyed while nobody holds the lock"

        bob = await s.peer("bob", "responder")
        await bob.post(LockRequested())
        await s.wait_for(lambda: lock.state.lock.holder == "bob")
        await footer_is_current("bob took the lock")
        assert not [k for k in drawn_keys(app) if k[0] == "F"][0][2], "force release offered"

        # The lock's keys are hidden while the timeline is in front; the lock changes meanwhile.
        await s.pilot.press("1")
        await footer_is_current("timeline pane")
        assert not [k for k in drawn_keys(app) if k[0] == "F"]
        await bob.post(LockReleased(token=lock.state.lock.token))
        await s.wait_for(lambda: lock.state.lock.free)
        await s.pilot.press("4")
        await footer_is_current("back on the lock pane after bob let go")
        assert [k for k in drawn_keys(app) if k[0] == "F"][0][2], "greyed again"

        # The entry line hides the timeline's keys and closing it brings them back.
        for keys in (["1"], ["n"], ["escape"], ["n", *"x", "enter"], ["slash"], ["escape"]):
            await s.pilot.press(*keys)
            await footer_is_current(f"after {keys}")


async def test_a_key_the_footer_builds_is_as_wide_as_its_text_from_its_first_layout(
    tmp_path: Path,
) -> None:
    """A built key starts in the footer's own style, not Textual's compact default.

    ``FooterKey.compact`` defaults to True and the footer's binding sets it False only in a
    callback after the key is mounted. A layout in between (a busy machine: seen in CI's
    comms 80x24 snapshot) sized each key for the compact padding, two cells narrower, and the
    key kept that width once drawn in full: ``i Internal updat e External updat``."""
    async with console_session(tmp_path, role="comms", size=(80, 24)) as s:
        console = next(x for x in s.app.screen_stack if isinstance(x, ConsoleScreen))
        footer = console.query_one(CalmFooter)
        spec = footer._wanted()[0]
        as_footer = active_message_pump.set(footer)  # the footer builds its keys itself
        try:
            built = footer._build(spec)
        finally:
            active_message_pump.reset(as_footer)
        assert built.compact is footer.compact is False
        await s.pilot.pause()
        for key in footer.query(FooterKey):
            if key.display:
                assert not key.has_class("-compact") or key.has_class("-command-palette")
                assert key.size.width == key.render().cell_len, key.key


def keys_past_the_palette_hint(app) -> list[str]:
    """Keys the footer draws past the start of the palette's hint (cut, or hidden under it)."""
    console = next(s for s in app.screen_stack if isinstance(s, ConsoleScreen))
    footer = console.query_one(Footer)
    keys = [k for k in footer.query(FooterKey) if k.display]
    [palette] = [k for k in keys if k.has_class("-command-palette")]
    return [
        f"{k.key} {k.description}"
        for k in keys
        if k is not palette and k.region.right > palette.region.x
    ]


async def test_at_80_columns_every_panes_footer_keeps_help_in_view(tmp_path: Path) -> None:
    """The IC sees the most keys. The summary pane offered seven and Help: at 80 columns the
    footer read `... p Phase  e Escalat` and `? Help` was gone. The escalation keys now live in
    the escalation banner (and the help screen) only."""
    async with console_session(tmp_path, role="ic", size=(80, 24)) as s:
        bob = await s.peer("bob", "responder")
        await bob.post(BoardItemAdded(kind="guess", text="retry storm", evidence=[]))
        await s.pilot.press("4", "l")  # the IC holds the lock: its holder's keys
        await s.wait_for(lambda: s.app.client.state.lock.holder == s.app.me)
        for key in ("1", "2", "right", "3", "4", "5", "6", "7", "8"):
            await s.pilot.press(key)
            await s.pilot.pause()
            await s.wait_for(lambda: shown_keys(s.app) == offered_keys(s.app), timeout=3)
            assert "Help" in [description for _, description in shown_keys(s.app)], key
            assert keys_past_the_palette_hint(s.app) == [], (key, shown_keys(s.app))
            if key == "7":  # the escalation keys, out of the footer, are still on `?`
                await s.pilot.press("question_mark")
                await s.wait_for(lambda: "Raise the severity as the" in screen_text(s.app))
                assert "Dismiss the escalation proposal" in screen_text(s.app)
                await s.pilot.press("escape")
                await s.pilot.pause()
