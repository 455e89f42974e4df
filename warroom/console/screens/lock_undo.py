""" "Undo it?": asked when an action did not help, before the next one is tried.

A mitigation that did not move the metric is undone before another is tried; otherwise the next
change is measured on top of an unknown one and nobody can tell which moved the graphs.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from warroom.console.css import tcss_beside
from warroom.core.production import ProductionAction


class UndoPrompt(ModalScreen[ProductionAction | None]):
    """Returns the action to undo, or ``None`` for "not now"."""

    DEFAULT_CSS = tcss_beside(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "undo", "Undo it", id="undo.yes", tooltip="Open the undo action form"),
        Binding("n,escape", "not_now", "Not now", id="undo.no",
                tooltip="Keep the change; it stays flagged in the lock pane"),
    ]  # fmt: skip

    def __init__(self, action: ProductionAction) -> None:
        super().__init__()
        self.action = action

    def compose(self) -> ComposeResult:
        action = self.action
        outcome = action.outcome.label if action.outcome else "no result"
        with Vertical(id="undo-box"):
            yield Label("Undo it?", id="undo-title")
            yield Static(
                f"{action.kind.label} {action.target}: {outcome} "
                f"({action.metric} {action.value_before} → {action.value_after}).\n"
                "A change that did not help is undone before the next one is tried."
            )
            with Horizontal(id="undo-buttons"):
                yield Button("Not now (n)", id="no")
                yield Button("Undo it (y)", variant="warning", id="yes")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def action_undo(self) -> None:
        self.dismiss(self.action)

    def action_not_now(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.action_undo()

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.action_not_now()
