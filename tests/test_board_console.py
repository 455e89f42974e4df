"""The board pane in a real console on a real hub: keys, greyed actions, forms and refusals."""

from __future__ import annotations

from textual.widgets import Input, Static

from tests.console_helpers import console_session
from warroom.console.screens.board_add import AddCardForm
from warroom.console.screens.board_evidence import EvidenceForm
from warroom.console.screens.board_take_over import TakeOverScreen
from warroom.console.widgets.board import BoardPane, CardList
from warroom.core.board import BoardItemAdded, Column, GuessClaimed, GuessReleased, ItemStatus


async def open_board(session) -> BoardPane:
    await session.pilot.press("2")
    pane = session.app.screen.query_one(BoardPane)
    await session.wait_for(lambda: isinstance(session.app.focused, CardList))
    return pane


def stored(session, type_: str) -> list:
    return [e for e in session.hub.store.events(session.incident) if e.type == type_]


def detail(pane: BoardPane) -> str:
    return str(pane.query_one("#board-detail", Static).render())


async def test_add_claim_and_confirm_from_the_keyboard_the_card_follows_to_the_facts(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder") as s:
        pane = await open_board(s)
        assert pane.active_column == Column.FACTS
        await s.pilot.press("right", "a")
        form = s.app.screen
        assert isinstance(form, AddCardForm)
        await s.pilot.press(*"connection leak in v2.3.1", "enter")
        await s.wait_for(lambda: len(pane.state.board) == 1)
        [added] = stored(s, "board_item_added")
        assert (added.actor, added.kind, added.text) == ("bo", "guess", "connection leak in v2.3.1")
        assert pane.card is not None and pane.card.no == added.seq
        assert "guess · open" in detail(pane) and "checked by" not in detail(pane)
        # bo may not confirm a guess nobody has claimed: the key is there, but greyed out
        assert pane.check_action("confirm", ()) is None
        assert pane.check_action("retract", ()) is False  # not offered on a guess

        await s.pilot.press("c")
        await s.wait_for(lambda: pane.state.board[added.seq].owner == "bo")
        assert pane.check_action("confirm", ()) is True
        assert pane.check_action("claim", ()) is None  # already bo's

        await s.pilot.press("f")
        assert isinstance(s.app.screen, EvidenceForm)
        await s.pilot.press(*"4812 idle connections", "enter")
        await s.wait_for(lambda: pane.state.board[added.seq].status == ItemStatus.CONFIRMED)
        await s.wait_for(lambda: pane.active_column == Column.FACTS)
        assert pane.card is not None and pane.card.no == added.seq
        assert "4812 idle connections" in detail(pane)
        [confirmed] = stored(s, "guess_confirmed")
        assert confirmed.subject == "connection leak in v2.3.1"
        assert confirmed.evidence.text == "4812 idle connections"


async def test_claiming_a_guess_someone_else_checks_asks_first(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder") as s:
        cy = await s.peer("cy", "responder")
        guess = await cy.post(BoardItemAdded(kind="guess", text="dns flapping"))
        await cy.post(GuessClaimed(item=guess.seq))
        pane = await open_board(s)
        await s.pilot.press("right")
        await s.wait_for(lambda: pane.card is not None and pane.card.owner == "cy")
        assert "checked by cy" in detail(pane)

        await s.pilot.press("c")
        assert isinstance(s.app.screen, TakeOverScreen)
        await s.pilot.press("n")
        assert not isinstance(s.app.screen, TakeOverScreen)
        assert len(stored(s, "guess_claimed")) == 1, "saying no sends nothing"

        await s.pilot.press("c", "y")
        await s.wait_for(lambda: pane.state.board[guess.seq].owner == "bo")
        taken = stored(s, "guess_claimed")[-1]
        assert (taken.actor, taken.take_over, taken.previous_owner) == ("bo", True, "cy")
        await s.wait_for(lambda: cy.state.board[guess.seq].owner == "bo")


async def test_a_refused_rule_out_is_shown_in_the_form_and_nothing_is_written(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder") as s:
        ana = await s.peer("ana", "ic")
        guess = await ana.post(BoardItemAdded(kind="guess", text="dns flapping"))
        pane = await open_board(s)
        await s.pilot.press("right", "c")
        await s.wait_for(lambda: pane.state.board[guess.seq].owner == "bo")
        await s.pilot.press("r")
        form = s.app.screen
        assert isinstance(form, EvidenceForm)
        await s.pilot.press("ctrl+s")  # no evidence yet
        assert "evidence" in str(form.query_one("#form-error", Static).render())
        form.query_one("#evidence-text", Input).value = "dig +trace clean"
        # While bo types, the IC frees the guess: bo no longer owns it.
        await ana.post(GuessReleased(item=guess.seq))
        await s.wait_for(lambda: pane.state.board[guess.seq].owner is None)
        await s.pilot.press("ctrl+s")
        error = form.query_one("#form-error", Static)
        await s.wait_for(lambda: "refused" in str(error.render()))
        assert "technical lead or the IC" in str(error.render())
        assert s.app.screen is form, "a refused form stays open with what was typed"
        assert stored(s, "guess_ruled_out") == []
        await s.pilot.press("escape")
        assert pane.state.board[guess.seq].status == ItemStatus.OPEN


async def test_moving_between_columns_and_cards_shows_each_cards_detail(tmp_path):
    async with console_session(tmp_path, name="bo", role="lead") as s:
        ana = await s.peer("ana", "ic")
        fact = await ana.post(BoardItemAdded(kind="fact", text="5xx at 23%"))
        first = await ana.post(BoardItemAdded(kind="guess", text="dns flapping"))
        second = await ana.post(
            BoardItemAdded(
                kind="guess",
                text="cdn purge",
                evidence=[{"kind": "graph", "text": "cdn hit ratio"}],
            )
        )
        pane = await open_board(s)
        await s.wait_for(lambda: len(pane.state.board) == 3)
        assert pane.card.no == fact.seq and "5xx at 23%" in detail(pane)
        assert pane.check_action("retract", ()) is True  # the lead may retract any fact
        await s.pilot.press("l")
        assert pane.active_column == Column.GUESSES and pane.card.no == first.seq
        await s.pilot.press("j")
        assert pane.card.no == second.seq and "cdn hit ratio" in detail(pane)
        await s.pilot.press("k")
        assert pane.card.no == first.seq
        assert pane.check_action("confirm", ()) is True  # the lead confirms unclaimed guesses
        await s.pilot.press("right")
        assert pane.active_column == Column.RULED_OUT and pane.card is None
        assert pane.check_action("evidence", ()) is False
        await s.pilot.press("right")
        assert pane.active_column == Column.FACTS


async def test_an_observer_is_offered_no_board_keys(tmp_path):
    async with console_session(tmp_path, name="olly", role="observer") as s:
        ana = await s.peer("ana", "ic")
        await ana.post(BoardItemAdded(kind="fact", text="5xx at 23%"))
        pane = await open_board(s)
        await s.wait_for(lambda: len(pane.state.board) == 1)
        for action in ("add", "evidence", "retract", "claim", "confirm"):
            assert pane.check_action(action, ()) is False, action
        await s.pilot.press("a")
        assert not isinstance(s.app.screen, AddCardForm)


async def test_a_claim_refused_because_someone_was_faster_is_shown_under_the_board(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder") as s:
        cy = await s.peer("cy", "responder")
        guess = await cy.post(BoardItemAdded(kind="guess", text="dns flapping"))
        pane = await open_board(s)
        await s.wait_for(lambda: guess.seq in pane.state.board)
        await cy.post(GuessClaimed(item=guess.seq))  # the hub has this before bo's claim
        reply = await pane.send(GuessClaimed, item=guess.seq)
        assert reply.op == "error" and reply.code == "owned"
        line = pane.query_one("#board-message", Static)
        await s.wait_for(lambda: "cy is already checking" in str(line.render()))
        assert line.has_class("shown")
        await s.pilot.press("right", "a", "escape")  # the next action clears the line
        assert not line.has_class("shown")


async def test_the_evidence_kind_the_arrows_land_on_is_the_one_recorded(tmp_path):
    """Seen in tmux: → four times to "output", Tab to the text, Enter: recorded as a note."""
    async with console_session(tmp_path, name="bo", role="responder") as s:
        pane = await open_board(s)
        await s.pilot.press("g")
        await s.wait_for(lambda: isinstance(s.app.screen, AddCardForm))
        await s.pilot.press(*"pool leak", "tab", "right", "right", "right", "right", "tab")
        await s.pilot.press(*"4812 idle connections", "enter")
        await s.wait_for(lambda: len(pane.state.board) == 1)
        [added] = stored(s, "board_item_added")
        [evidence] = added.evidence
        assert (evidence.kind, evidence.text) == ("output", "4812 idle connections")
