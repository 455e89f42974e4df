"""Retract a fact that turned out wrong. It stays on the board, marked, with the reason."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.screens.board_form import Built, CommandForm
from warroom.console.screens.form_fields import text_field
from warroom.core.board import MAX_EVIDENCE, BoardItem, FactRetracted, quote


class RetractForm(CommandForm):
    """Ask why before a fact is retracted."""

    FIRST = "#reason"

    def __init__(self, card: BoardItem) -> None:
        super().__init__()
        self.card = card

    def heading(self) -> str:
        return f"Retract fact {self.card.label}"

    def fields(self) -> ComposeResult:
        yield Static(quote(self.card.text, 200), classes="card-quote")
        yield from text_field(
            "Why is it no longer a fact?",
            "reason",
            placeholder="e.g. the US region shows the errors too",
            max_length=MAX_EVIDENCE,
        )

    def build(self) -> Built | str:
        reason = self.typed("#reason")
        if not reason:
            return "Say why the fact is retracted."
        return FactRetracted, {"item": self.card.no, "subject": self.card.text, "reason": reason}
