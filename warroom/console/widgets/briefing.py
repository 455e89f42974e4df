"""A briefing, read out: titled blocks of short lines, the way the outgoing IC would say it.

The words come from :func:`warroom.core.briefing.briefing_blocks`; this widget only lays them out,
so the handoff screen, the read-in and anything else showing a briefing read the same.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from warroom.console.css import tcss_beside
from warroom.core.briefing import briefing_blocks
from warroom.core.handoff_state import Briefing, Section

#: Lines that call for attention get a style; everything else reads plainly.
WARNING_WORDS = ("OVERDUE", "vacant", "Undo first", "nobody checking")


def briefing_text(briefing: Briefing, now: datetime | None = None) -> Text:
    """The briefing as one block of styled text."""
    out = Text()
    for index, block in enumerate(briefing_blocks(briefing, now)):
        if index:
            out.append("\n")
        out.append(block.title, style="bold underline")
        for number, line in enumerate(block.lines):
            style = "bold" if block.section == Section.SITUATION and number == 0 else ""
            if any(word in line for word in WARNING_WORDS):
                style = "bold yellow"
            out.append("\n")
            out.append(line, style=style)
        out.append("\n")
    out.rstrip()
    return out


class BriefingView(VerticalScroll):
    """A scrollable briefing; set ``briefing`` (and ``now`` for countdowns) to redraw."""

    DEFAULT_CSS = tcss_beside(__file__)

    briefing: reactive[Briefing | None] = reactive(None, always_update=True, init=False)
    """The briefing shown; ``None`` shows nothing yet."""
    now: reactive[datetime | None] = reactive(None, init=False)
    """The console's clock, for "next update in 4m"; ``None`` leaves countdowns out."""

    def compose(self):
        yield Static("", id="briefing-text")

    def on_mount(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        text = briefing_text(self.briefing, self.now) if self.briefing else Text("")
        self.query_one("#briefing-text", Static).update(text)

    watch_briefing = watch_now = _redraw
