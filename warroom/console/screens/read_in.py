"""The read-in: what a newcomer needs to follow the room without asking it to repeat itself.

A late joiner's console opens with it (see :class:`~warroom.console.screens.handoff.RolePrompts`);
the roster opens it again on request, or with the full IC briefing. It is the briefing the
handoff uses, cut shorter for the newcomer, and it stays current while open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from warroom.console.messages import ClientChanged
from warroom.console.widgets.briefing import BriefingView
from warroom.core.briefing import build_briefing, read_in
from warroom.core.roles import Role

if TYPE_CHECKING:
    from warroom.console.app import WarroomApp


class ReadInScreen(ModalScreen[None]):
    """The newcomer's read-in (or, with ``full=True``, the IC's whole briefing)."""

    CSS_PATH = "read_in.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss", "Got it", id="read-in.close",
                tooltip="Close the read-in and go to the console"),
    ]  # fmt: skip

    def __init__(self, full: bool = False) -> None:
        super().__init__()
        self.full = full

    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="read-in-box") as box:
            box.border_title = "Briefing" if self.full else "Read-in"
            box.border_subtitle = "Enter or Esc to close"
            yield Static("", id="read-in-intro")
            yield BriefingView(id="read-in-briefing")

    def on_mount(self) -> None:
        self.redraw()

    def on_client_changed(self, message: ClientChanged) -> None:
        self.redraw()

    def redraw(self) -> None:
        client = self.warroom.client
        if client is None:
            return
        state = client.state
        if self.full:
            intro = "What the incident commander would hand over right now."
            briefing = build_briefing(state, Role.IC)
        else:
            ic = state.ic or "nobody"
            intro = (
                f"Welcome, {self.warroom.me}. This incident started before you joined; here is "
                f"where it stands. {ic} leads it."
            )
            briefing = read_in(state)
        self.query_one("#read-in-intro", Static).update(intro)
        view = self.query_one(BriefingView)
        view.briefing = briefing
        view.now = self.warroom.clock()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
