"""The drill coach's latest hint, whole, above the panes of a drill incident.

On the timeline a hint is one row among many and is cut at the pane's width
(``DRILL: Move the incident to 'mi…``); a first-timer needs all of it, keys included, wherever
they are. So in a drill the console shows the coach's last hint here, wrapped, on every pane.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from warroom.console.css import tcss_beside
from warroom.console.redraw import show
from warroom.console.widgets.pane import IncidentPane
from warroom.console.widgets.timeline_view import LogFollower
from warroom.core.events import EventBase
from warroom.core.incident import NoteAdded
from warroom.core.state import IncidentState

#: The name the drill's coach joins with (see :mod:`warroom.drill.runner`).
COACH = "drill-coach"


class CoachLine(IncidentPane):
    """The coach's latest hint in a drill; hidden in a real incident."""

    DEFAULT_CSS = tcss_beside(__file__)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        #: The events already looked at: each change looks only at the new ones, not at the
        #: whole record again (10,000 events at every event of a long drill; issue 24).
        self._follower = LogFollower()
        self._hint: str | None = None
        self._redacted = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="coach-text", markup=False)

    def render_state(self, state: IncidentState) -> None:
        hint = self.latest_hint() if state.drill else None
        self.display = hint is not None
        if hint is not None:
            show(self.query_one("#coach-text", Static), hint)

    def latest_hint(self) -> str | None:
        if len(self.state.redactions) != self._redacted:  # a hint may have lost its text
            self._redacted = len(self.state.redactions)
            self._follower = LogFollower()
        restart, older, newer = self._follower.changes(self.incident_log, self.incident_log_epoch)
        if restart:
            self._hint = _last_hint(self.incident_log)
        else:
            self._hint = _last_hint(newer) or self._hint or _last_hint(older)
        return self._hint


def _last_hint(events: list[EventBase]) -> str | None:
    for event in reversed(events):
        if isinstance(event, NoteAdded) and event.actor == COACH:
            return event.text.removeprefix("DRILL: ")
    return None
