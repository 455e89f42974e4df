"""Asked before claiming a guess someone else is already checking.

Two people quietly chasing the same hypothesis is what the board exists to prevent, so taking
over is a question with the current owner's name in it, and the command says ``take_over``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from warroom.core.board import BoardItem, quote


class TakeOverScreen(ModalScreen[bool]):
    """Yes or no: take over ``card`` from its owner."""

    #: Absolute, so every subclass (in its own module) finds it; as screen CSS it outweighs the
    #: console's plain ``Screen`` rule, and the console stays visible, dimmed, under the form.
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    DEFAULT_CLASSES = "form-screen"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "y",
            "answer(True)",
            "Take over",
            id="takeover.yes",
            tooltip="Claim the guess; its owner sees you took it over",
        ),
        Binding(
            "n,escape",
            "answer(False)",
            "Leave it",
            id="takeover.no",
            tooltip="Leave the guess with its owner",
        ),
    ]

    def __init__(self, card: BoardItem) -> None:
        super().__init__()
        self.card = card

    def compose(self) -> ComposeResult:
        with Vertical(id="take-over"):
            yield Label(
                f"{self.card.owner} is already checking {self.card.label}", id="take-over-heading"
            )
            yield Static(quote(self.card.text, 200), classes="card-quote")
            yield Static("Take it over? Talk to them first if you can.")
            yield Static("y take over · n leave it", id="take-over-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
