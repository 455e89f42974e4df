"""Facts and guesses: an empty state until this pane's feature fills it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.widgets.pane import IncidentPane


class BoardPane(IncidentPane):
    """Says honestly what will appear here."""

    DEFAULT_CSS = """
    BoardPane > .empty-state { color: $text-muted; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            "The facts-vs-guesses board appears here: confirmed facts, open guesses, and what has been ruled out.",
            classes="empty-state",
        )
