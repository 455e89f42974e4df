"""The drill coach's latest hint, whole, above the panes of a drill incident.

On the timeline a hint is one row among many and is cut at the pane's width
(``DRILL: Move the incident to 'mi…``); a first-timer needs all of it, keys included, wherever
they are. So in a drill the console shows the coach's last hint here, wrapped, on every pane.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.css import tcss_beside
from warroom.console.widgets.pane import IncidentPane
from warroom.core.incident import NoteAdded
from warroom.core.state import IncidentState

#: The name the drill's coach joins with (see :mod:`warroom.drill.runner`).
COACH = "drill-coach"


class CoachLine(IncidentPane):
    """The coach's latest hint in a drill; hidden in a real incident."""

    DEFAULT_CSS = tcss_beside(__file__)

    def compose(self) -> ComposeResult:
        yield Static("", id="coach-text", markup=False)

    def render_state(self, state: IncidentState) -> None:
        hint = self.latest_hint() if state.drill else None
        self.display = hint is not None
        if hint is not None:
            self.query_one("#coach-text", Static).update(hint)

    def latest_hint(self) -> str | None:
        for event in reversed(self.incident_log):
            if isinstance(event, NoteAdded) and event.actor == COACH:
                return event.text.removeprefix("DRILL: ")
        return None
