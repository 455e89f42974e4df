"""The board pane: confirmed facts | open guesses | ruled out, live for everyone.

Each column is a list of cards; the arrow keys (or h/j/k/l) move between columns and cards, and
the keys act on the highlighted card. A key the hub would refuse for this person and this card is
greyed out in the footer; a key that does not apply to the column (confirming a fact) is not
offered at all. The detail panel under the columns shows the highlighted card's evidence and
history, and the line under it shows the hub's refusal when the user's last action was refused.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from warroom.console.css import tcss_beside
from warroom.console.screens.board_add import AddCardForm
from warroom.console.screens.board_evidence import EvidenceForm
from warroom.console.screens.board_retract import RetractForm
from warroom.console.screens.board_take_over import TakeOverScreen
from warroom.console.widgets.board_card import card_detail, card_prompt
from warroom.console.widgets.pane import ListDetailPane, Probe
from warroom.core.alerts_incident import AlertEvidenceConfirmed
from warroom.core.alerts_state import AlertEvidence
from warroom.core.board import (
    COLUMN_TITLES,
    BoardItem,
    BoardItemAdded,
    Column,
    EvidenceAdded,
    FactRetracted,
    GuessClaimed,
    GuessConfirmed,
    GuessReleased,
    GuessRuledOut,
    ItemKind,
    ItemStatus,
    column,
)
from warroom.core.events import EventBase
from warroom.core.protocol import Ack, Error
from warroom.core.state import IncidentState

EMPTY: dict[Column, str] = {
    Column.FACTS: "nothing confirmed yet",
    Column.GUESSES: "no open guesses",
    Column.RULED_OUT: "nothing ruled out yet",
}

#: Keys that act on a card, with the columns they apply to.
CARD_ACTIONS: dict[str, frozenset[Column]] = {
    "claim": frozenset({Column.GUESSES}),
    "release": frozenset({Column.GUESSES}),
    "confirm": frozenset({Column.GUESSES}),
    "rule_out": frozenset({Column.GUESSES}),
    "retract": frozenset({Column.FACTS}),
    "evidence": frozenset(Column),
}
#: Keys that open a form on the highlighted open guess from any column: the form names the
#: guess before anything is sent, so confirming needs no trip to the guesses column first.
GUESS_FORMS = frozenset({"confirm", "rule_out"})


class CardList(OptionList):
    """One column of the board; option ids are card numbers."""

    def __init__(self, col: Column) -> None:
        super().__init__(id=f"col-{col.value}", classes="board-column")
        self.col = col
        self.border_title = COLUMN_TITLES[col]

    @property
    def card_no(self) -> int | None:
        option = self.highlighted_option
        return int(option.id) if option is not None and option.id else None

    def show(self, cards: list[BoardItem], me: str, want: int | None) -> None:
        """Replace the cards, keeping the highlight on the same card (or ``want``) if present."""
        keep = want if want is not None else self.card_no
        index = self.highlighted
        if cards:
            options: list[Option | None] = []
            for card in cards:
                if options:
                    options.append(None)  # a rule between cards
                options.append(Option(card_prompt(card, me), id=str(card.no)))
            self.set_options(options)
        else:
            self.set_options([Option(EMPTY[self.col], disabled=True)])
            return
        ids = [c.no for c in cards]
        if keep in ids:
            self.highlighted = ids.index(keep)
        else:
            self.highlighted = min(index or 0, len(cards) - 1)
        live = sum(1 for c in cards if c.status != ItemStatus.RETRACTED)
        self.border_subtitle = str(live)


class BoardPane(ListDetailPane):
    """Facts, guesses and what was ruled out, with the keys to move cards between them."""

    DEFAULT_CSS = tcss_beside(__file__)
    MESSAGE_LINE = "#board-message"
    HELP = (
        "Confirmed facts, open guesses and what was ruled out. Anyone but an observer adds cards "
        "and evidence and claims guesses; a guess's owner, the technical lead or the IC confirm "
        "it (it becomes a fact) or rule it out with evidence; a wrong fact is retracted with a "
        "reason and stays visible. On a card: c claim, u release, e evidence, f confirm, "
        "r rule out, x retract (each key shows when it applies to the card's column)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "left,h",
            "column(-1)",
            "Column left",
            id="board.left",
            show=False,
            tooltip="Move to the column on the left",
        ),
        Binding(
            "right,l",
            "column(1)",
            "Column right",
            id="board.right",
            show=False,
            tooltip="Move to the column on the right",
        ),
        Binding(
            "j",
            "card(1)",
            "Next card",
            id="board.down",
            show=False,
            tooltip="Move to the next card",
        ),
        Binding(
            "k",
            "card(-1)",
            "Previous card",
            id="board.up",
            show=False,
            tooltip="Move to the previous card",
        ),
        Binding(
            "a",
            "add",
            "Add",
            id="board.add",
            tooltip="Add a fact or a guess (the kind of the column you are in)",
        ),
        Binding(
            "g",
            "add_guess",
            "Guess",
            id="board.add_guess",
            show=False,  # the footer keeps a (add); help, README and the palette list g
            tooltip="Add a guess to check",
        ),
        Binding("c", "claim", "Claim", id="board.claim", tooltip="Say you are checking this guess"),
        Binding(
            "u",
            "release",
            "Release",
            id="board.release",
            tooltip="Stop checking this guess so someone else can",
        ),
        Binding(
            "e",
            "evidence",
            "Evidence",
            id="board.evidence",
            tooltip="Add a link, query, graph or command output to the card",
        ),
        Binding(
            "f",
            "confirm",
            "Confirm",
            id="board.confirm",
            tooltip="Confirm the guess: it becomes a fact",
        ),
        Binding(
            "r",
            "rule_out",
            "Rule out",
            id="board.rule_out",
            tooltip="Rule the guess out, with the evidence",
        ),
        Binding(
            "x",
            "retract",
            "Retract",
            id="board.retract",
            tooltip="Retract the fact, with a reason; it stays visible",
        ),
        # Issue 20: notifications of the incident's alert groups, offered as evidence.
        Binding(
            "t",
            "alert_fact",
            "Alert → fact",
            id="board.alert_fact",
            tooltip="Turn the alert notification shown above the columns into a confirmed fact",
        ),
        Binding(
            "o",
            "next_alert",
            "Next alert",
            id="board.next_alert",
            show=False,
            tooltip="Show the next alert notification offered as evidence",
        ),
    ]
    WRITE_ACTIONS = frozenset(
        {"add", "add_guess", "add_fact", "claim", "release", "evidence", "confirm", "rule_out",
         "retract", "alert_fact"}
    )  # fmt: skip

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        #: The card to highlight (one this user just added or moved) and the ``seq`` of the
        #: event that put it there: followed once the console's state has reached that event.
        self._want: tuple[int, int] | None = None
        self._active = Column.FACTS
        #: Which alert notification the strip above the columns offers (index into the offers).
        self._offer = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="board-alerts")
        with Horizontal(id="board-columns"):
            for col in Column:
                yield CardList(col)
        with VerticalScroll(id="board-detail-box"):
            yield Static(id="board-detail")
        yield Static("", id="board-message")

    # --- rendering ----------------------------------------------------------------------------
    def render_state(self, state: IncidentState) -> None:
        want: int | None = None
        if self._want is not None and state.seq >= self._want[1]:
            want, self._want = self._want[0], None
        target = state.board.get(want) if want is not None else None
        for col in Column:
            self._list(col).show(column(state, col), self.me, want)
        if target is not None and isinstance(self.screen.focused, CardList):
            self._list(target.column).focus()
        self._show_detail()
        self._show_offer()
        self.refresh_bindings()

    # --- alert notifications offered as evidence (issue 20) ----------------------------------
    @property
    def offer(self) -> AlertEvidence | None:
        """The alert notification the strip offers, if any is waiting to become a fact."""
        offers = self.state.alerts.offers()
        if not offers:
            return None
        return offers[min(self._offer, len(offers) - 1)]

    def _show_offer(self) -> None:
        strip = self.query_one("#board-alerts", Static)
        offer = self.offer
        strip.display = offer is not None
        if offer is None:
            return
        offers = self.state.alerts.offers()
        more = f" ({offers.index(offer) + 1} of {len(offers)}, o next)" if len(offers) > 1 else ""
        keys = "" if self.read_only else "t makes it a fact"
        strip.update(f"⚑ Alert evidence #{offer.seq}{more}: {offer.text}  [dim]{keys}[/dim]")

    def action_alert_fact(self) -> None:
        offer = self.offer
        if offer is None:
            return
        self.say("")
        future = self.send(AlertEvidenceConfirmed, notification=offer.seq)
        if future is not None:
            self._want_ack(future)

    def _want_ack(self, future: asyncio.Future[Ack | Error]) -> None:
        """Highlight the new fact once the hub has it."""

        def done(reply: asyncio.Future[Ack | Error]) -> None:
            if reply.cancelled() or reply.exception() is not None:
                return
            answer = reply.result()
            if isinstance(answer, Ack):
                self._want = (answer.seq, answer.seq)
                self.render_state(self.state)

        future.add_done_callback(done)

    def action_next_alert(self) -> None:
        self._offer = (self._offer + 1) % max(len(self.state.alerts.offers()), 1)
        self._show_offer()

    def _list(self, col: Column) -> CardList:
        return self.query_one(f"#col-{col.value}", CardList)

    @property
    def active_column(self) -> Column:
        """The column the user is in: the focused one, else the last one focused."""
        focused = self.screen.focused
        if isinstance(focused, CardList) and focused.parent is not None:
            self._active = focused.col
        return self._active

    @property
    def card(self) -> BoardItem | None:
        """The highlighted card in the active column."""
        no = self._list(self.active_column).card_no
        return self.state.board.get(no) if no is not None else None

    @property
    def guess(self) -> BoardItem | None:
        """The open guess ``f`` and ``r`` act on: the highlighted card in the guesses column."""
        if self.active_column == Column.GUESSES:
            return self.card
        no = self._list(Column.GUESSES).card_no
        card = self.state.board.get(no) if no is not None else None
        return card if card is not None and card.column == Column.GUESSES else None

    def _target(self, action: str) -> BoardItem | None:
        return self.guess if action in GUESS_FORMS else self.card

    def _show_detail(self) -> None:
        self.query_one("#board-detail", Static).update(card_detail(self.card, self.state))

    # --- what is offered ----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        if not self.is_mounted:
            return True
        if action in ("add", "add_guess", "add_fact"):
            return True if self.allows(action) else None
        if action in ("alert_fact", "next_alert"):
            if self.offer is None or (
                action == "next_alert" and len(self.state.alerts.offers()) < 2
            ):
                return False  # nothing offered: the key is not shown
            return True if action == "next_alert" or self.allows(action) else None
        if action not in CARD_ACTIONS:
            return True
        card = self._target(action)
        if card is None or card.column not in CARD_ACTIONS[action]:
            return False
        if action == "release" and card.owner is None:
            return False  # nothing to release
        return True if self.allows(action) else None

    def probe(self, action: str) -> Probe | None:
        if action in ("add", "add_guess", "add_fact"):
            return BoardItemAdded, {"kind": "guess", "text": "?"}
        if action == "alert_fact":
            offer = self.offer if self.is_mounted else None
            return (AlertEvidenceConfirmed, {"notification": offer.seq}) if offer else None
        card = self._target(action) if self.is_mounted else None
        if card is None:
            return None
        commands: dict[str, type[EventBase]] = {
            "claim": GuessClaimed,
            "release": GuessReleased,
            "confirm": GuessConfirmed,
            "rule_out": GuessRuledOut,
            "retract": FactRetracted,
            "evidence": EvidenceAdded,
        }
        command = commands.get(action)
        if command is None:
            return None
        payload: dict[str, object] = {"item": card.no}
        if action == "claim" and card.owner not in (None, self.me):
            payload.update(take_over=True, previous_owner=card.owner)
        if action in ("rule_out", "evidence"):
            payload["evidence"] = {"kind": "note", "text": "?"}
        if action == "retract":
            payload["reason"] = "?"
        return command, payload

    # --- actions ------------------------------------------------------------------------------
    def action_column(self, step: int) -> None:
        cols = list(Column)
        target = cols[(cols.index(self.active_column) + step) % len(cols)]
        self._list(target).focus()

    def action_card(self, step: int) -> None:
        lst = self._list(self.active_column)
        if step > 0:
            lst.action_cursor_down()
        else:
            lst.action_cursor_up()

    def action_add(self) -> None:
        kind = ItemKind.FACT if self.active_column == Column.FACTS else ItemKind.GUESS
        self._open(AddCardForm(kind))

    def action_add_guess(self) -> None:
        self._open(AddCardForm(ItemKind.GUESS))

    def action_add_fact(self) -> None:
        self._open(AddCardForm(ItemKind.FACT))

    def action_claim(self) -> None:
        card = self.card
        if card is None:
            return
        if card.owner is not None and card.owner != self.me:
            owner = card.owner

            def answered(yes: bool | None) -> None:
                if yes:
                    self._send_claim(card, take_over=True, previous_owner=owner)

            self.app.push_screen(TakeOverScreen(card), answered)
            return
        self._send_claim(card)

    def _send_claim(self, card: BoardItem, **extra: object) -> None:
        self.say("")
        self.send(GuessClaimed, item=card.no, subject=card.text, **extra)

    def action_release(self) -> None:
        if (card := self.card) is not None:
            self.say("")
            self.send(GuessReleased, item=card.no, subject=card.text)

    def action_evidence(self) -> None:
        if (card := self.card) is not None:
            self._open(EvidenceForm(EvidenceAdded, card))

    def action_confirm(self) -> None:
        if (card := self.guess) is not None:
            self._open(EvidenceForm(GuessConfirmed, card), follow=card.no)

    def action_rule_out(self) -> None:
        if (card := self.guess) is not None:
            self._open(EvidenceForm(GuessRuledOut, card), follow=card.no)

    def action_retract(self) -> None:
        if (card := self.card) is not None:
            self._open(RetractForm(card), follow=card.no)

    def _open(self, form: Screen[Any], follow: int | None = None) -> None:
        """Show ``form``; when the hub accepts it, highlight the card it made or moved."""
        self.say("")

        def done(seq: int | None) -> None:
            if seq is not None:
                self._want = (follow if follow is not None else seq, seq)
                self.render_state(self.state)

        self.app.push_screen(form, done)

    # --- refusals -----------------------------------------------------------------------------
