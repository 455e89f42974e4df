"""Decision log: an empty state until this pane's feature fills it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.widgets.pane import IncidentPane


class DecisionPane(IncidentPane):
    """Says honestly what will appear here."""

    DEFAULT_CSS = """
    DecisionPane > .empty-state { color: $text-muted; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            "The decision log appears here: each decision the IC records, with its time and follow-ups.",
            classes="empty-state",
        )
