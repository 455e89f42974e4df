"""The side column of a wide console: who is in the room, and the latest of the record.

On a large terminal every role keeps its own pane in front and still sees, beside it, who holds
each role and what was just recorded, without switching tabs. It only reads; all writing happens
in the panes. The console screen shows it from 140 columns up.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from warroom.console.css import tcss_beside
from warroom.console.redraw import show
from warroom.console.widgets.pane import IncidentPane
from warroom.console.widgets.timeline_view import Entry, LogFollower, TimelineView
from warroom.core.roles import HELD_ROLES, ROLE_TITLES
from warroom.core.state import IncidentState


class TimelineTail(TimelineView, can_focus=False):
    """The newest entries in compact form; it follows the record and takes no keys."""


def room_text(state: IncidentState, presence_known: bool = True, me: str = "") -> Text:
    """Held roles (vacant ones too) and who is online (unknown while the hub is unreachable)."""
    text = Text()
    for role in HELD_ROLES:
        holder = state.holder(role)
        person = state.participants.get(holder) if holder else None
        mark = "●" if person is not None and person.online else "○"
        if not presence_known:
            mark = "○" if holder == me else "?"  # this console is cut off; others: unknown
        text.append(f"{ROLE_TITLES[role]:<19}", "bold")
        if holder:
            text.append(f"{mark} {holder}\n")
        else:
            text.append("vacant\n", "dim")
    if not presence_known:
        text.append("\nPresence unknown", "bold")
        text.append(": the hub is unreachable")
        return text
    online = sorted(state.online)
    text.append(f"\n{len(online)} online", "bold")
    if online:
        text.append(": " + ", ".join(online))
    return text


class RoomSidebar(IncidentPane):
    """Room summary on top, the latest of the timeline below."""

    DEFAULT_CSS = tcss_beside(__file__)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._follower = LogFollower()
        self._redacted = 0

    def compose(self) -> ComposeResult:
        yield Label("Room", classes="sidebar-heading")
        yield Static("", id="sidebar-room")
        yield Label("Latest", classes="sidebar-heading", id="sidebar-latest-heading")
        yield TimelineTail(compact=True, id="sidebar-latest")

    def times_changed(self) -> None:
        self._follower = LogFollower()
        super().times_changed()

    def render_state(self, state: IncidentState) -> None:
        show(
            self.query_one("#sidebar-room", Static),
            room_text(state, self.warroom.presence_known, self.me),
        )
        tail = self.query_one(TimelineTail)
        if len(state.redactions) != self._redacted:  # an entry drawn here may have lost its text
            self._redacted = len(state.redactions)
            self._follower = LogFollower()
        restart, older, newer = self._follower.changes(self.incident_log, self.incident_log_epoch)
        if restart:
            tail.replace([])
        if older:
            tail.prepend(Entry.of(event, times=self.times) for event in older)
        if newer:
            tail.append(Entry.of(event, times=self.times) for event in newer)
