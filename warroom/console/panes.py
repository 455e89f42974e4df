"""Which panes the console has, the key that jumps to each, and which role opens on which.

Every pane is reachable from every role. A feature fills its pane by replacing the placeholder
widget in its own module; nothing else needs to change.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from warroom.core.roles import Role


@dataclass(frozen=True)
class PaneSpec:
    id: str
    title: str
    #: The key that jumps to this pane (shown in the footer and the help screen).
    key: str
    #: "module:Class" of the pane widget, imported when the console is built.
    widget: str

    def widget_class(self) -> type:
        module, _, name = self.widget.partition(":")
        return getattr(importlib.import_module(module), name)


PANES: tuple[PaneSpec, ...] = (
    PaneSpec("timeline", "Timeline", "1", "warroom.console.widgets.timeline:TimelinePane"),
    PaneSpec("board", "Board", "2", "warroom.console.widgets.board:BoardPane"),
    PaneSpec("decisions", "Decisions", "3", "warroom.console.widgets.decisions:DecisionPane"),
    PaneSpec("lock", "Lock", "4", "warroom.console.widgets.lock:LockPane"),
    PaneSpec("comms", "Comms", "5", "warroom.console.widgets.comms:CommsPane"),
    PaneSpec("roster", "Roster", "6", "warroom.console.widgets.roster:RosterPane"),
    PaneSpec("summary", "Summary", "7", "warroom.console.widgets.summary:SummaryPane"),
    PaneSpec("checklist", "Steps", "8", "warroom.console.widgets.checklist:ChecklistPane"),
)

#: The pane each role opens on: its own work first.
HOME_PANE: dict[Role, str] = {
    Role.IC: "decisions",
    Role.SCRIBE: "timeline",
    Role.COMMS: "comms",
    Role.LEAD: "board",
    Role.RESPONDER: "board",
    Role.OBSERVER: "timeline",
}
