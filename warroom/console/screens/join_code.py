"""The join code just made, shown once, whole, until the IC has passed it on.

The hub keeps only the code's digest, so this is the one time anyone sees it. It is copied off a
terminal, often over SSH, and pasted into whatever channel still works: it stands on a line of
its own, never wrapped (a notification broke it over two lines at 80 columns, and a code copied
with a line break in it is refused), and the guest's command is spelled out with it, one option
per line, ready to paste. ``c`` also hands it to the terminal's clipboard (OSC 52) where the
terminal allows that.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from warroom.core.access import SeatLimit


class JoinCodeScreen(ModalScreen[None]):
    """Shows ``code`` (made for ``seat``) and the command a guest joins ``url`` with."""

    CSS_PATH = "join_code.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Done", id="join-code.close",
                tooltip="Close; the code is not shown again"),
        Binding("c", "copy", "Copy the code", id="join-code.copy",
                tooltip="Send the code to the terminal's clipboard (OSC 52), where it allows that"),
    ]  # fmt: skip

    def __init__(self, code: str, code_id: str, url: str, seat: SeatLimit) -> None:
        super().__init__()
        self.code = code
        self.code_id = code_id
        self.url = url
        self.seat = seat

    def compose(self) -> ComposeResult:
        who = "an observer (reads only)" if self.seat == SeatLimit.OBSERVER else "a guest"
        with Vertical(id="join-code-box") as box:
            box.border_title = f"Join code for {who}"
            box.border_subtitle = "shown only now"
            yield Static(
                "Pass it on by whatever channel still works. The hub keeps only its digest: "
                "nobody can show it again.",
                classes="join-code-note",
            )
            yield Static(Text(self.code, no_wrap=True, overflow="ignore"), id="join-code-value")
            yield Static("The guest runs:", classes="join-code-note")
            command = (
                f"warroom join {self.url} \\\n  --join-code {self.code} \\\n  --name THEIR-NAME"
            )
            yield Static(Text(command, no_wrap=True, overflow="ignore"), id="join-code-command")
            yield Static(
                "They enter this incident only, shown as guest:THEIR-NAME. To shut them out: "
                f'ctrl+p, "Join code: revoke {self.code_id}".',
                classes="join-code-note",
            )
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.code)
        self.notify(
            "Sent to the terminal's clipboard; terminals that do not accept it (OSC 52) leave "
            "it unchanged: copy it from the screen.",
            title="Join code",
        )
