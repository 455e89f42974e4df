"""Retract a fact that turned out wrong. It stays on the board, marked, with the reason."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, Static

from warroom.console.screens.board_form import Built, CommandForm, field_label
from warroom.core.board import MAX_EVIDENCE, BoardItem, FactRetracted, quote


class RetractForm(CommandForm):
    """Ask why before a fact is retracted."""

    def __init__(self, card: BoardItem) -> None:
        super().__init__()
        self.card = card

    def heading(self) -> str:
        return f"Retract fact {self.card.label}"

    def fields(self) -> ComposeResult:
        yield Static(quote(self.card.text, 200), classes="card-quote")
        yield field_label("Why is it no longer a fact?")
        yield Input(
            placeholder="e.g. the US region shows the errors too",
            id="reason",
            max_length=MAX_EVIDENCE,
            compact=True,
        )

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def build(self) -> Built | str:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            return "Say why the fact is retracted."
        return FactRetracted, {"item": self.card.no, "subject": self.card.text, "reason": reason}
