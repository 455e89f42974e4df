"""Evidence on a card: added to it, confirming a guess, or ruling one out.

The three share one form because they are one gesture in the room ("here is what I found"); they
differ in the command sent and in whether evidence is required: ruling out a guess without saying
what ruled it out would leave the postmortem guessing.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.screens.board_form import Built, CommandForm, EvidenceRow
from warroom.console.screens.form_fields import field_label
from warroom.core.board import BoardItem, EvidenceAdded, GuessConfirmed, GuessRuledOut, quote
from warroom.core.events import EventBase


class EvidenceForm(CommandForm):
    """Attach evidence to ``card``, or confirm or rule it out with evidence."""

    #: event class -> (heading verb, is evidence required, label above the evidence)
    MODES: ClassVar[dict[type[EventBase], tuple[str, bool, str]]] = {
        EvidenceAdded: ("Add evidence to", True, "Evidence"),
        GuessConfirmed: ("Confirm", False, "What confirmed it (optional)"),
        GuessRuledOut: ("Rule out", True, "What ruled it out"),
    }

    FIRST = "#evidence-text"

    def __init__(self, command: type[EventBase], card: BoardItem) -> None:
        super().__init__()
        self.command = command
        self.card = card

    def heading(self) -> str:
        verb = self.MODES[self.command][0]
        return f"{verb} {self.card.label}"

    def fields(self) -> ComposeResult:
        _, _, label = self.MODES[self.command]
        yield Static(quote(self.card.text, 200), classes="card-quote")
        yield field_label(label)
        yield EvidenceRow("a link, a query, a graph name, a command output excerpt")

    def build(self) -> Built | str:
        _, required, _ = self.MODES[self.command]
        note = self.query_one(EvidenceRow).note()
        if required and note is None:
            return "Say what the evidence is."
        payload: dict[str, object] = {"item": self.card.no, "subject": self.card.text}
        if note is not None:
            payload["evidence"] = note
        return self.command, payload
