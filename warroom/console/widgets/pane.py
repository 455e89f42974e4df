"""The base of every pane on the console screen.

Attributes down, messages up: the console screen sets ``state`` on every pane whenever the
incident changes; a pane renders it and sends commands through :meth:`IncidentPane.send`. A pane
holds no incident logic of its own: what is allowed comes from :mod:`warroom.core.rules`, what the
incident looks like from the folded state.

Actions named in ``WRITE_ACTIONS`` are hidden (footer, help, palette) from someone who may not
write, so an observer is never offered a key that the hub would refuse. A command the hub refuses
is reported through :meth:`IncidentPane.show_refusal`; the default is a notification, and a pane
with an input of its own overrides it to show the message right there.
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
    #: Actions that send commands: not offered to someone who may not write.
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset()

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide write actions from readers (Textual then leaves them out of footer and help)."""
        return not (action in self.WRITE_ACTIONS and self.read_only)

    def show_refusal(self, error: Error) -> None:
        """Tell the user the hub refused what they just did. Override to show it in place."""
        self.notify(error.message, title="The hub refused", severity="error", timeout=8)

    def send(self, event_type: str, **payload: Any) -> asyncio.Future[Ack | Error] | None:
        """Send a command to the hub. The future resolves with the hub's ack or error.

        Returns ``None`` (and shows why) if the command could not even be built. A refusal by
        the hub is passed to :meth:`show_refusal` as well.
        """
        future = self.warroom.send_command(event_type, **payload)
        if future is not None:
            future.add_done_callback(self._report_refusal)
        return future

    def _report_refusal(self, future: asyncio.Future[Ack | Error]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        reply = future.result()
        if isinstance(reply, Error) and self.is_attached:
            self.show_refusal(reply)

    @property
    def incident_log(self) -> list[EventBase]:
        """Every event of the incident in order (named so as not to hide Textual's ``log``)."""
        return self.warroom.incident_log
