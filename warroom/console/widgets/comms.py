"""Stakeholder updates: an empty state until this pane's feature fills it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.widgets.pane import IncidentPane


class CommsPane(IncidentPane):
    """Says honestly what will appear here."""

    DEFAULT_CSS = """
    CommsPane > .empty-state { color: $text-muted; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            "The stakeholder update template and the updates sent so far appear here.",
            classes="empty-state",
        )
