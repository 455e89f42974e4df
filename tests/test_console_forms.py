"""Forms on the console: how they look after other screens, and where typed keys land.

Issue 16: labels flipped to right-aligned on consoles that had opened the declaration screen
(item 8); Enter did not leave a radio set or a selection list, and text typed right after Enter
(a paste, a fast typist) landed in the previous field (item 6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Input, Label, RadioSet, TextArea

from tests.console_helpers import console_session, is_live
from tests.helpers import T0, ManualClock
from warroom.console.screens.board_add import AddCardForm
from warroom.console.screens.board_evidence import EvidenceForm
from warroom.console.screens.board_form import CommandForm
from warroom.console.screens.board_retract import RetractForm
from warroom.console.screens.comms_form import UpdateForm
from warroom.console.screens.decision_record import DecisionForm
from warroom.console.screens.declare import DeclareScreen
from warroom.console.screens.join import JoinScreen
from warroom.console.screens.lock_action import ActionForm
from warroom.core.board import BoardItemAdded


def label_alignments(screen) -> set[str]:
    return {str(label.styles.text_align) for label in screen.query(Label).filter(".field-label")}


async def test_form_labels_stay_left_aligned_after_the_declaration_screen(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", join=False) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await s.pilot.press("n")
        await s.wait_for(lambda: isinstance(s.app.screen, DeclareScreen))
        # The declaration's own labels sit right-aligned against their fields ...
        assert label_alignments(s.app.screen) == {"right"}
        await s.pilot.press("escape")
        await s.wait_for(lambda: isinstance(s.app.screen, JoinScreen))
        await s.pilot.press("enter")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        await s.pilot.press("2", "a")
        await s.wait_for(lambda: isinstance(s.app.screen, CommandForm))
        # ... and no other form's labels follow them.
        alignments = label_alignments(s.app.screen)
        assert alignments and alignments <= {"start", "left"}, alignments


# --- item 6: where typed keys land ----------------------------------------------------------


NAMED_KEY_CHARS = {"enter": "\r", "space": " ", "tab": "\t"}


async def burst(pilot: Pilot[Any], *keys: str) -> None:
    """Keys as a terminal delivers a paste or a fast typist: all read before any is handled.

    ``pilot.press`` waits for the app to go idle after every key, which hides the case where a
    key is handed to a field before the field has reacted to the one before it.
    """
    app = pilot.app
    for key in keys:
        if len(key) == 1:
            char: str | None = key
            key = key if key.isalnum() else _character_to_key(key)
        else:
            char = NAMED_KEY_CHARS.get(key)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)  # type: ignore[union-attr]
    await pilot.pause()
    await pilot.pause()


def values(screen) -> dict[str, str]:
    return {i.id: i.value for i in screen.query(Input) if i.id}


async def stored_events(s, type_: str, count: int = 1) -> list[Any]:
    await s.wait_for(lambda: len([e for e in s.app.incident_log if e.type == type_]) >= count)
    return [e for e in s.app.incident_log if e.type == type_]


async def test_declaration_form_keeps_every_key_of_a_burst(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", join=False, clock=ManualClock(T0)) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await s.pilot.press("n")
        await s.wait_for(lambda: isinstance(s.app.screen, DeclareScreen))
        await burst(
            s.pilot,
            *"Checkout down", "enter",   # the title, then the severity
            "down", "enter",             # SEV3 highlighted: Enter takes it and moves on
            "enter",                     # detected: keep now
            *"pager", "enter",
            *"502s", "enter",
            *"EU", "ctrl+s",
        )  # fmt: skip
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        [declared] = await stored_events(s, "incident_declared")
        assert (declared.title, declared.severity) == ("Checkout down", "SEV3")
        assert (declared.trigger, declared.symptoms, declared.scope) == ("pager", "502s", "EU")


async def test_declaration_ctrl_s_right_after_the_title_declares_it(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", join=False, clock=ManualClock(T0)) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await s.pilot.press("n")
        await s.wait_for(lambda: isinstance(s.app.screen, DeclareScreen))
        await burst(s.pilot, *"Checkout down", "ctrl+s")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        [declared] = await stored_events(s, "incident_declared")
        assert (declared.title, declared.severity) == ("Checkout down", "SEV2")


async def test_space_toggles_and_enter_moves_on_in_the_severity_choice(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", join=False) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await s.pilot.press("n")
        await s.wait_for(lambda: isinstance(s.app.screen, DeclareScreen))
        screen = s.app.screen
        await s.pilot.press("tab", "up", "space")
        assert isinstance(s.app.focused, RadioSet), "space stays in the choice"
        assert screen.query_one(RadioSet).pressed_button.name == "SEV1"
        await s.pilot.press("enter", *"10:00")
        assert s.app.focused is screen.query_one("#detected", Input)
        assert screen.query_one(RadioSet).pressed_button.name == "SEV1"


async def test_board_add_form_keeps_every_key_of_a_burst(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="responder", name="bo") as s:
        await s.pilot.press("2", "a")
        await s.wait_for(lambda: isinstance(s.app.screen, AddCardForm))
        await burst(
            s.pilot,
            *"pool is full", "tab",       # to the evidence kinds
            "enter",                      # Enter takes the highlighted kind (note), moves on
            *"db panel 3", "enter",       # sends
        )  # fmt: skip
        [added] = await stored_events(s, "board_item_added")
        assert added.text == "pool is full"
        assert [(e.kind, e.text) for e in added.evidence] == [("note", "db panel 3")]


async def test_evidence_form_choosing_a_kind_then_typing_at_once(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="responder", name="bo") as s:
        peer = await s.peer("cy", "responder")
        await peer.post(BoardItemAdded(kind="guess", text="retry storm", evidence=[]))
        await s.wait_for(lambda: len(s.app.client.state.board) == 1)
        await s.pilot.press("2", "right")
        await s.pilot.press("e")
        await s.wait_for(lambda: isinstance(s.app.screen, EvidenceForm))
        # Back to the kinds, "link" highlighted, Enter takes it and moves on, the text follows.
        await burst(s.pilot, "shift+tab", "right", "enter", *"https://grafana/d/1", "enter")
        [added] = await stored_events(s, "evidence_added")
        assert (added.evidence.kind, added.evidence.text) == ("link", "https://grafana/d/1")


async def test_retract_form_keeps_a_burst(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic") as s:
        await s.pilot.press("2", "a", *"EU only", "enter")
        await s.wait_for(lambda: len(s.app.client.state.board) == 1)
        await s.wait_for(lambda: not isinstance(s.app.screen, CommandForm))
        await s.pilot.press("x")
        await s.wait_for(lambda: isinstance(s.app.screen, RetractForm))
        await burst(s.pilot, *"US too", "enter")
        [retracted] = await stored_events(s, "fact_retracted")
        assert retracted.reason == "US too"


async def test_decision_form_keeps_every_key_of_a_burst(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic") as s:
        peer = await s.peer("bo", "responder")
        await peer.post(BoardItemAdded(kind="fact", text="pool is full", evidence=[]))
        await s.wait_for(lambda: len(s.app.client.state.board) == 1)
        [fact] = s.app.client.state.board.values()
        await s.pilot.press("3", "d")
        await s.wait_for(lambda: isinstance(s.app.screen, DecisionForm))
        await burst(
            s.pilot,
            *"roll back", "enter",
            *"deploy broke it", "enter",
            *"roll back; wait", "enter",
            "space", "enter",              # cite the fact; Enter leaves the list
        )  # fmt: skip
        assert s.app.focused is s.app.screen.query_one("#owner")
        await s.pilot.press("space", "down", "enter")  # the owner: open, pick, close
        await burst(s.pilot, "ctrl+s")
        [decided] = await stored_events(s, "decision_recorded")
        assert (decided.what, decided.why) == ("roll back", "deploy broke it")
        assert decided.options == ["roll back", "wait"]
        assert decided.facts == [fact.no]
        assert decided.owner in {"ana", "bo"}


async def test_lock_action_form_keeps_every_key_of_a_burst(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="responder", name="bo") as s:
        await s.pilot.press("4", "l")
        await s.wait_for(lambda: s.app.client.state.lock.holder == "bo")
        await s.pilot.press("a")
        await s.wait_for(lambda: isinstance(s.app.screen, ActionForm))
        await burst(
            s.pilot,
            *"checkout-api", "enter",
            *"5xx under 1%", "enter",
            *"5xx rate", "enter",
            *"12%", "ctrl+s",
        )  # fmt: skip
        [started] = await stored_events(s, "action_started")
        assert (started.target, started.expected, started.metric, started.value_before) == (
            "checkout-api",
            "5xx under 1%",
            "5xx rate",
            "12%",
        )


async def test_comms_form_enter_moves_on_and_keeps_every_key(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="comms", name="cy", size=(100, 36)) as s:
        await s.pilot.press("i")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdateForm))
        form = s.app.screen
        for field in form.query(Input):
            field.value = ""
        form.query_one("#f-affected", Input).focus()
        await s.pilot.pause()
        await burst(
            s.pilot,
            *"EU checkout", "enter",
            *"US", "enter",
            *"retry in 5 min", "enter",
        )  # fmt: skip
        assert isinstance(s.app.screen, UpdateForm), "Enter moves on; it does not preview"
        assert values(form)["f-affected"] == "EU checkout"
        assert values(form)["f-not-affected"] == "US"
        assert values(form)["f-expect"] == "retry in 5 min"
        assert s.app.focused is form.query_one("#f-doing", TextArea)


async def test_keys_that_reach_a_form_before_its_first_field_has_focus_land_there(
    tmp_path: Path,
) -> None:
    """A form focuses its first field once mounted; what is typed in between is held for it.

    (Keys typed behind the pane's key that opens the form: the tests below.)
    """
    async with console_session(tmp_path, role="ic") as s:
        await s.pilot.press("2")
        s.app.push_screen(AddCardForm())
        await burst(s.pilot, *"pool is full on db-primary", "enter")
        [added] = await stored_events(s, "board_item_added")
        assert added.text == "pool is full on db-primary"


# --- keys typed in the same burst as the key that opens a form --------------------------------
# Textual resolves a pane's key only after it has travelled back up to the app; the keys behind
# it used to be handed to the pane before the form was there, and were lost or ran pane keys.


async def test_board_a_then_text_in_one_burst_lands_in_the_form(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="responder", name="bo") as s:
        await s.wait_for(lambda: s.app.screen.query_one("#panes").active == "board")
        await burst(s.pilot, "a", *"Database pool at 100%", "enter")
        [added] = await stored_events(s, "board_item_added")
        assert (added.kind, added.text) == ("fact", "Database pool at 100%")
        await s.wait_for(lambda: not isinstance(s.app.screen, CommandForm))
        assert len(s.app.client.state.board) == 1


async def test_timeline_n_then_text_in_one_burst_is_the_note(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="scribe", name="cy") as s:
        await s.wait_for(lambda: s.app.screen.query_one("#panes").active == "timeline")
        await burst(s.pilot, "n", *"restarted pgbouncer on db-2", "enter")
        notes = await stored_events(s, "note_added")
        assert [(n.kind, n.text) for n in notes] == [("note", "restarted pgbouncer on db-2")]


async def test_capital_d_from_another_pane_then_text_in_one_burst(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic") as s:
        await s.pilot.press("2")
        await burst(s.pilot, "D", *"roll back", "enter", *"deploy broke it")
        await s.wait_for(lambda: isinstance(s.app.screen, DecisionForm))
        form = s.app.screen
        await s.wait_for(lambda: values(form).get("why") == "deploy broke it")
        assert values(form)["what"] == "roll back"
        assert s.app.client.state.board == {}, "no key reached the board behind the form"


async def test_capital_g_then_text_in_one_burst_is_the_guess(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="responder", name="bo") as s:
        await s.pilot.press("1")
        await burst(s.pilot, "G", *"Retry storm from mobile 5.2", "enter")
        [added] = await stored_events(s, "board_item_added")
        assert (added.kind, added.text) == ("guess", "Retry storm from mobile 5.2")
        assert not [e for e in s.app.incident_log if e.type == "note_added"]


async def test_pane_key_then_form_key_then_text_all_in_one_burst(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="responder", name="bo") as s:
        await s.pilot.press("1")
        await burst(s.pilot, "2", "a", *"EU only", "enter")
        [added] = await stored_events(s, "board_item_added")
        assert (added.kind, added.text) == ("fact", "EU only")
        assert not [e for e in s.app.incident_log if e.type == "note_added"]


async def test_declaring_from_the_list_with_the_title_in_the_same_burst(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", join=False, clock=ManualClock(T0)) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await burst(s.pilot, "3", *"Checkout down", "ctrl+s")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        [declared] = await stored_events(s, "incident_declared")
        assert (declared.title, declared.severity) == ("Checkout down", "SEV3")


async def test_the_arrows_choose_the_severity_and_leaving_with_tab_keeps_it(tmp_path: Path) -> None:
    """The form says "↑↓ to choose": a level the arrows landed on is the one declared, whether
    the responder then presses Enter, Tab or ctrl+s (seen in tmux: Down, then ctrl+s, declared
    the SEV2 the form started on)."""
    async with console_session(tmp_path, role="ic", join=False, clock=ManualClock(T0)) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await s.pilot.press("n")
        await s.wait_for(lambda: isinstance(s.app.screen, DeclareScreen))
        await burst(s.pilot, *"Checkout down", "tab", "down", "tab", "tab", *"pager", "ctrl+s")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        [declared] = await stored_events(s, "incident_declared")
        assert (declared.severity, declared.trigger) == ("SEV3", "pager")


async def test_the_arrows_choose_the_severity_up_and_down_and_ctrl_s_sends_it(
    tmp_path: Path,
) -> None:
    async with console_session(tmp_path, role="ic", join=False, clock=ManualClock(T0)) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await s.pilot.press("n")
        await s.wait_for(lambda: isinstance(s.app.screen, DeclareScreen))
        await burst(s.pilot, *"Checkout down", "tab", "down", "down", "up", "up", "up", "ctrl+s")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        [declared] = await stored_events(s, "incident_declared")
        assert declared.severity == "SEV1"
