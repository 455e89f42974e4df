"""A secret shown once, whole, until the person who made it has passed it on.

A join code and a status page link carry a secret the hub never keeps (only its digest), so the
moment it is made is the one time anyone sees it. It is copied off a terminal, often over SSH,
and pasted into whatever channel still works, so it stands on lines of its own with nothing
else on them (a notification 38 columns wide broke a code over two lines with its border
between), it stays until closed, and ``c`` hands it to the terminal's clipboard (OSC 52) where
the terminal allows that, which is the only whole copy of a link longer than the screen is wide.
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


class ShownOnceScreen(ModalScreen[None]):
    """``secret`` under ``title``, with what it is for before it and how to use it after."""

    CSS_PATH = "shown_once.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Done", id="shown-once.close",
                tooltip="Close; it is not shown again"),
        Binding("c", "copy", "Copy it", id="shown-once.copy",
                tooltip="Send it to the terminal's clipboard (OSC 52), where the terminal allows"),
    ]  # fmt: skip

    def __init__(self, title: str, secret: str, intro: str, usage: str = "", after: str = ""):
        super().__init__()
        self.title_text = title
        self.secret = secret
        self.intro = intro
        self.usage = usage
        self.after = after

    def compose(self) -> ComposeResult:
        with Vertical(id="shown-once-box") as box:
            box.border_title = self.title_text
            box.border_subtitle = "shown only now"
            yield Static(self.intro, classes="shown-once-note")
            # Folded at the edge when longer than the line (no hyphen, no space added).
            yield Static(Text(self.secret, overflow="fold"), id="shown-once-value")
            if self.usage:
                yield Static(Text(self.usage, no_wrap=True, overflow="ignore"),
                             id="shown-once-usage")  # fmt: skip
            if self.after:
                yield Static(self.after, classes="shown-once-note")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.secret)
        self.notify(
            "Sent to the terminal's clipboard. A terminal that does not accept that (OSC 52) "
            "leaves its clipboard as it was: copy it from the screen.",
            title="Copied",
        )


def join_code_screen(code: str, code_id: str, url: str, seat: SeatLimit) -> ShownOnceScreen:
    """The join code just made, and the command a guest joins ``url`` with."""
    who = "an observer (reads only)" if seat == SeatLimit.OBSERVER else "a guest"
    return ShownOnceScreen(
        f"Join code for {who}",
        code,
        "Pass it on by whatever channel still works. The hub keeps only its digest: nobody can "
        "show it again.",
        usage=(
            "The guest runs:\n"
            f"  warroom join {url} \\\n"
            f"    --join-code {code} \\\n"
            "    --name THEIR-NAME"
        ),
        after=(
            "They enter this incident only, shown as guest:THEIR-NAME. To shut them out: "
            f'ctrl+p, "Join code: revoke {code_id}".'
        ),
    )


def page_link_screen(url: str, link_id: str, audience: str) -> ShownOnceScreen:
    """A status page link just made."""
    return ShownOnceScreen(
        f"Status page link ({audience})",
        url,
        "Opens this incident's status page in a browser. The hub keeps only its digest: nobody "
        "can show it again. Longer than the screen is wide, it is folded at the edge: c copies "
        "it whole.",
        after=f"To stop it: x on link {link_id} in the list of live links.",
    )
