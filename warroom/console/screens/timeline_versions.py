"""Every version of one timeline entry: what it first said, each amendment, and its times.

Opened with ``v`` on a highlighted row marked ✎ (amended), ↶ (retimed) or ◷ (typed well before
the hub received it). Read-only; Esc closes it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from warroom.console.clock_face import shown_times
from warroom.console.screens.timeline_correct import entry_title
from warroom.core.events import EventBase
from warroom.core.state import IncidentState


def versions_text(event: EventBase, state: IncidentState) -> Text:
    """The entry's story: first text, every amendment with who and why, and its times."""
    times = shown_times()
    out = Text()
    out.append("First written", style="bold")
    out.append(f" by {event.actor}" + (f" at {times.both(event.at)}" if event.at else ""))
    out.append("\n" + event.describe() + "\n")
    for number, version in enumerate(state.corrections.get(event.seq, ()), start=2):
        when = f" at {times.both(version.at)}" if version.at else ""
        out.append(f"\nVersion {number}", style="bold")
        out.append(f" by {version.by} ({version.role.value}){when}, because {version.reason}")
        out.append("\n" + event.amended(version.text).describe() + "\n")
    out.append("\nTimes", style="bold")
    if event.at is not None:
        out.append(f"\nReceived by the hub at {times.both(event.at)}")
    if event.noted_at is not None:
        out.append(f"\nTyped at {times.both(event.noted_at)} (the author's console)")
    for retime in state.retimes.get(event.seq, ()):
        when = f" at {times.both(retime.at)}" if retime.at else ""
        out.append(
            f"\nHappened at {times.both(retime.happened_at)}, said {retime.by}{when}, "
            f"because {retime.reason}"
        )
    return out


class VersionsScreen(ModalScreen[None]):
    """One entry's versions and times."""

    CSS_PATH = "timeline_versions.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,v,q", "dismiss", "Close", id="versions.close",
                tooltip="Back to the timeline"),
    ]  # fmt: skip

    def __init__(self, event: EventBase, state: IncidentState) -> None:
        super().__init__()
        self.event = event
        self.state = state

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="versions-box") as box:
            box.border_title = f"Versions of {entry_title(self.event)}"
            box.border_subtitle = "Esc closes"
            yield Static(versions_text(self.event, self.state), id="versions-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
