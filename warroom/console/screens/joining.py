"""What the console shows in the second it takes to build itself: which incident it is joining.

A responder who runs ``warroom join`` over SSH in the middle of an incident should see at once
that the command took, where it is going and as whom, not a still terminal. Building the console
(importing the incident's models, composing and styling its panes, folding the snapshot) takes
about a second on a small machine; this screen is drawn first, with nothing but Textual loaded,
and the console takes its place as soon as it is ready (issue 24: nothing slow before the first
frame).

Keys typed meanwhile are not lost: the app holds them (see
:class:`~warroom.console.keys_in_order.KeysInOrder`) and the console reads them, in order, once
its first pane has focus.
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static


class JoiningScreen(Screen[None]):
    """Shown from the first frame until the console screen replaces it."""

    CSS_PATH = "joining.tcss"

    def __init__(self, incident: str, hub: str, me: str, seat: str) -> None:
        super().__init__()
        self.incident = incident
        self.hub = hub
        self.me = me
        self.seat = seat

    def compose(self) -> ComposeResult:
        yield Static(
            f"[b]warroom[/b]\n\nJoining [b]{escape(self.incident)}[/b] on "
            f"{escape(self.hub)}\nas {escape(self.me)} ({escape(self.seat)})…",
            id="joining-text",
        )

    def build_console(self) -> None:
        """Build the console in this screen's place, after this screen's frame is out.

        The app calls this once Textual says its first frame was displayed (``Ready``): the
        app's start-up runs in one batch, and a refresh inside it draws nothing, so this
        screen's own ``call_after_refresh`` would build the console before anything is seen.
        """
        self.call_after_refresh(self._build_console)

    def _build_console(self) -> None:
        join = getattr(self.app, "join_incident", None)
        if join is not None and self.is_current:
            join(self.incident)
