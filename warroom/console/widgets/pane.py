"""The base of every pane on the console screen.

Attributes down, messages up: the console screen sets ``state`` on every pane whenever the
incident changes; a pane renders it and sends commands through :meth:`IncidentPane.send`. A pane
holds no incident logic of its own: what is allowed comes from :mod:`warroom.core.rules`, what the
incident looks like from the folded state.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from textual.containers import Vertical
from textual.reactive import reactive

from warroom.core.events import EventBase
from warroom.core.protocol import Ack, Error
from warroom.core.roles import Role
from warroom.core.rules import may_send
from warroom.core.state import IncidentState

if TYPE_CHECKING:
    from warroom.console.app import WarroomApp


class IncidentPane(Vertical):
    """A pane that renders the incident and may send commands to the hub."""

    #: Shown in the help screen above this pane's bindings.
    HELP: ClassVar[str] = ""

    state: reactive[IncidentState] = reactive(IncidentState, always_update=True, init=False)
    """The folded incident, set by the console screen on every change."""

    def __init__(self, *, me: str = "", seat: Role = Role.RESPONDER, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.me = me
        self.seat = seat

    def watch_state(self, state: IncidentState) -> None:
        if self.is_mounted:
            self.render_state(state)

    def on_mount(self) -> None:
        self.render_state(self.state)

    def render_state(self, state: IncidentState) -> None:
        """Redraw from ``state``. Panes override this."""

    # --- acting -------------------------------------------------------------------------------
    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    def may(self, event_type: str) -> bool:
        """Whether to offer an action: the hub would refuse it for this person anyway."""
        return may_send(self.state, event_type, self.me, self.seat)

    @property
    def read_only(self) -> bool:
        return self.seat == Role.OBSERVER and not self.state.roles_of(self.me)

    def send(self, event_type: str, **payload: Any) -> asyncio.Future[Ack | Error] | None:
        """Send a command to the hub. The future resolves with the hub's ack or error.

        Returns ``None`` (and shows why) if the command could not even be built.
        """
        return self.warroom.send_command(event_type, **payload)

    @property
    def log(self) -> list[EventBase]:
        return self.warroom.incident_log
