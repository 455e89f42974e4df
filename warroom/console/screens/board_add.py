"""Put a fact or a guess on the board, with evidence if there is some already."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Select

from warroom.console.screens.board_form import Built, CommandForm, EvidenceRow
from warroom.console.screens.form_fields import field_label, text_field
from warroom.core.board import MAX_CARD, BoardItemAdded, ItemKind


class AddCardForm(CommandForm):
    """The board's add form. It opens on the kind of the column the user was in."""

    HEADING = "Add to the board"
    FIRST = "#card-text"

    def __init__(self, kind: ItemKind = ItemKind.GUESS) -> None:
        super().__init__()
        self.kind = kind

    def fields(self) -> ComposeResult:
        yield field_label("Is it confirmed, or a guess to check?")
        yield Select(
            [("Guess (a hypothesis to check)", ItemKind.GUESS), ("Confirmed fact", ItemKind.FACT)],
            value=self.kind,
            allow_blank=False,
            id="card-kind",
            compact=True,
        )
        yield from text_field(
            "One sentence",
            "card-text",
            placeholder="e.g. connection pool exhausted on db-primary",
            max_length=MAX_CARD,
        )
        yield field_label("Evidence (optional)")
        yield EvidenceRow("a link, a query, a graph name, a command output excerpt")

    def build(self) -> Built | str:
        text = self.typed("#card-text")
        if not text:
            return "Write the fact or the guess first."
        kind = self.query_one("#card-kind", Select).value
        note = self.query_one(EvidenceRow).note()
        return BoardItemAdded, {
            "kind": str(kind),
            "text": text,
            "evidence": [note] if note else [],
        }
