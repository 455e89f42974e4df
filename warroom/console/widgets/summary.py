"""Summary: an empty state until this pane's feature fills it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.widgets.pane import IncidentPane


class SummaryPane(IncidentPane):
    """Says honestly what will appear here."""

    DEFAULT_CSS = """
    SummaryPane > .empty-state { color: $text-muted; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            "The incident summary appears here: impact, key times and the short report.",
            classes="empty-state",
        )
