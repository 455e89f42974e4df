"""Asked on ``ctrl+q`` while commands wait for the hub: what becomes of them?

Three answers, one key each: wait for the link and quit once the hub has stored them, quit now
and keep them on disk for the next ``warroom join`` of this person, or discard them (a second
``d`` confirms, since that loses what was typed). ``ctrl+q`` again keeps them (it loses nothing);
``esc`` goes back to the console. If the hub acknowledges everything while the question is open,
the console quits, as was asked.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from warroom.client.sync import IncidentClient
from warroom.console.app import WarroomApp
from warroom.console.messages import ClientChanged
from warroom.console.widgets.status_bar import LINK_TEXT


def items(count: int) -> str:
    return f"{count} item{'s' if count != 1 else ''}"


def them(count: int) -> str:
    return "it" if count == 1 else "them"


class QuitPrompt(ModalScreen[None]):
    """Wait, keep or discard the pending commands before quitting."""

    CSS_PATH = "quit_prompt.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "wait", "Wait", id="quit.wait",
                tooltip="Stay until the hub has stored them, then quit"),
        Binding("k", "keep", "Keep", id="quit.keep",
                tooltip="Quit now; the next warroom join sends them"),
        Binding("d", "discard", "Discard", id="quit.discard",
                tooltip="Quit and throw them away (press d twice)"),
        Binding("escape", "back", "Back", id="quit.back", tooltip="Back to the console"),
        Binding("ctrl+q", "keep", "Keep", id="quit.again", show=False,
                tooltip="ctrl+q again: quit and keep them (loses nothing)"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.waiting = False
        self.confirming_discard = False

    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    @property
    def client(self) -> IncidentClient | None:
        return self.warroom.client

    @property
    def keeps(self) -> bool:
        """Whether quitting can keep them (the outbox is on disk)."""
        client = self.client
        return client is not None and client.store is not None

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-box"):
            yield Label("", id="quit-heading")
            yield Static("", id="quit-why")
            yield Static("", id="quit-choices")

    def on_mount(self) -> None:
        self.redraw()

    def on_client_changed(self, message: ClientChanged) -> None:
        self.redraw()

    def redraw(self) -> None:
        client = self.client
        pending = len(client.outbox) if client is not None else 0
        if not pending:
            self.app.exit()  # nothing left to lose: quit, as was asked
            return
        link = LINK_TEXT.get(client.status, str(client.status)) if client else "○ offline"
        self.query_one("#quit-heading", Label).update(
            f"Quit with {items(pending)} not yet on the hub?"
        )
        it = them(pending)
        if self.waiting:
            why = (f"Waiting for the hub ({link}): the console quits as soon as it has "
                   f"stored {it}.")  # fmt: skip
            choices = [("k", f"quit now and keep {it} for next time") if self.keeps else None,
                       ("esc", "stop waiting, back to the console")]  # fmt: skip
        elif self.confirming_discard:
            why = f"Discarding loses {items(pending)} for good: nobody will see {it}."
            choices = [("d", f"yes, discard {items(pending)} and quit"),
                       ("esc", "no, back to the console")]  # fmt: skip
        else:
            why = (f"The link is {link}. Typed here, not yet stored by the hub "
                   "(marked ◷ on the timeline).")  # fmt: skip
            choices = [
                ("w", "wait for the link, then quit"),
                ("k", f"quit and keep {it}: your next warroom join sends {it}")
                if self.keeps
                else None,
                ("d", f"discard {it} and quit"),
                ("esc", "back to the console"),
            ]
        self.query_one("#quit-why", Static).update(why)
        lines = [f"[b]{key:>3}[/b]  {text}" for key, text in (c for c in choices if c)]
        self.query_one("#quit-choices", Static).update("\n".join(lines))

    def action_wait(self) -> None:
        self.waiting, self.confirming_discard = True, False
        self.redraw()

    def action_keep(self) -> None:
        if self.keeps:
            self.warroom.quit_keeping()

    def action_discard(self) -> None:
        if self.waiting:
            return
        if not self.confirming_discard:
            self.confirming_discard = True
            self.redraw()
            return
        client = self.client
        if client is not None:
            client.discard_pending()
        self.app.exit()

    def action_back(self) -> None:
        self.dismiss(None)
