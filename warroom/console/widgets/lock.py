"""Production lock: an empty state until this pane's feature fills it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.widgets.pane import IncidentPane


class LockPane(IncidentPane):
    """Says honestly what will appear here."""

    DEFAULT_CSS = """
    LockPane > .empty-state { color: $text-muted; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            "The production lock and actions appear here: who may change production now, who waits, and what was changed.",
            classes="empty-state",
        )
