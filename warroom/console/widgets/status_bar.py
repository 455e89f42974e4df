"""The status bar on top of the console: the incident at a glance, and whether we are live.

Two lines, because 80 columns hold no more: the severity, title, id and link state first; then
phase, time since detection, who leads, who holds the production lock and when the next
stakeholder update is due. Each piece is read through a small function of the folded state, so a
feature that adds a field (the lock, the update cadence) changes one function here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label

from warroom.client.sync import LinkStatus
from warroom.console.css import tcss_beside
from warroom.console.redraw import AfterFrame, show
from warroom.core.cadence import Countdown
from warroom.core.cadence import countdown as update_countdown
from warroom.core.incident import drill_title
from warroom.core.lock import lock_summary as production_lock_line
from warroom.core.lock import mm_ss
from warroom.core.state import IncidentState

LINK_TEXT: dict[LinkStatus, str] = {
    LinkStatus.CONNECTING: "○ connecting",
    LinkStatus.SYNCING: "◐ syncing",
    LinkStatus.LIVE: "● live",
    LinkStatus.RECONNECTING: "◌ reconnecting",
    LinkStatus.OFFLINE: "○ offline",
}


def elapsed(delta: timedelta, *, in_days: bool = True) -> str:
    """A short, stable duration: ``45s``, ``12m``, ``1h05m``, ``2d03h`` (in hours however long,
    without ``in_days``)."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48 or not in_days:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def countdown(delta: timedelta) -> str:
    """How long until (or since) a deadline: ``mm:ss`` within the hour, ``1h05m`` beyond it,
    as the lock's countdowns read (``233:00`` is nothing a tired person parses at a glance)."""
    return mm_ss(abs(delta))


def since_detection(state: IncidentState, now: datetime) -> str:
    start = state.detected_at or state.declared_at
    return f"{elapsed(now - start)} since detection" if start else "—"


def ic_summary(state: IncidentState) -> str:
    return f"IC {state.ic}" if state.ic else "no IC"


def next_update_text(shown: Countdown | None) -> str:
    """Countdown to the next stakeholder update; from zero on, an overdue warning for everyone.

    ``update in 04:32``, not ``update 04:32``: beside clock times (``due by 12:59 UTC``) a bare
    ``04:32`` reads as a time of day."""
    if shown is None:
        return "update —"
    if shown.overdue:
        return f"⚠ update overdue by {countdown(-shown.remaining)}"
    return f"update in {countdown(shown.remaining)}"


def link_summary(link: LinkStatus, pending: int, down_for: timedelta | None = None) -> str:
    """``● live``, ``◌ reconnecting · 2 pending``, ``○ offline for 12m · 2 pending``."""
    text = LINK_TEXT.get(link, str(link))
    if link == LinkStatus.OFFLINE and down_for is not None:
        text = f"{text} for {elapsed(down_for)}"
    return f"{text} · {pending} pending" if pending else text


class StatusBar(Widget):
    """Renders the incident summary; the console screen sets its attributes."""

    DEFAULT_CSS = tcss_beside(__file__)

    # The bar draws nothing itself, only its labels (each repainted by ``show`` when its text
    # changed): repainting the bar at every change would repaint the screen from the bar down
    # to whatever else changed (issue 24), hence ``repaint=False``.
    state: reactive[IncidentState] = reactive(
        IncidentState, always_update=True, init=False, repaint=False
    )
    """The folded incident."""
    link: reactive[LinkStatus] = reactive(LinkStatus.CONNECTING, init=False, repaint=False)
    """The state of the link to the hub."""
    pending: reactive[int] = reactive(0, init=False, repaint=False)
    """Commands sent but not yet acknowledged by the hub."""
    now: reactive[datetime | None] = reactive(None, init=False, repaint=False)
    """The time ages and countdowns are measured to (from the app's clock)."""
    down_since: reactive[datetime | None] = reactive(None, init=False, repaint=False)
    """When the link to the hub was lost, while it is down."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._redraw_soon = AfterFrame(self, self.redraw)

    def compose(self) -> ComposeResult:
        with Horizontal(id="sb-top"):
            yield Label("", id="sb-severity")
            yield Label("", id="sb-title")
            yield Label("", id="sb-link")
        with Horizontal(id="sb-bottom"):
            yield Label("", id="sb-phase")
            yield Label("", id="sb-age")
            yield Label("", id="sb-ic")
            yield Label("", id="sb-lock")
            yield Label("", id="sb-update")

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if not self.is_mounted:
            return
        state = self.state
        now = self.now or datetime.now().astimezone()
        severity = self.query_one("#sb-severity", Label)
        show(severity, f" {state.severity} " if state.declared else " … ")
        for level in range(1, 5):
            severity.set_class(state.declared and state.severity.level == level, f"sev{level}")
        # The id first: it is what people are told to join with, and a title too long for the
        # line is cut at its end (with an ellipsis), which must never take the id with it.
        title = (
            f"{state.incident_id} · {drill_title(state.title, state.drill)}"
            if state.declared
            else "joining…"
        )
        show(self.query_one("#sb-title", Label), title)
        link = self.query_one("#sb-link", Label)
        down_for = now - self.down_since if self.down_since is not None else None
        show(link, link_summary(self.link, self.pending, down_for))
        link.set_class(self.link == LinkStatus.LIVE and not self.pending, "live")
        link.set_class(self.link != LinkStatus.LIVE, "down")
        link.set_class(self.pending > 0, "has-pending")
        show(self.query_one("#sb-phase", Label), state.phase.title() if state.declared else "")
        show(self.query_one("#sb-age", Label), since_detection(state, now))
        show(self.query_one("#sb-ic", Label), ic_summary(state))
        lock_label = self.query_one("#sb-lock", Label)
        show(lock_label, production_lock_line(state, now))
        lock_label.set_class(state.lock.holder is not None, "held")
        shown = update_countdown(state, now)
        update_label = self.query_one("#sb-update", Label)
        show(update_label, next_update_text(shown))
        update_label.set_class(shown is not None and shown.overdue, "overdue")

    #: Any of what the bar shows changed: draw it all again (the parts are few and cheap).
    watch_state = watch_link = watch_pending = watch_now = watch_down_since = redraw

    def set_all(
        self,
        state: IncidentState,
        link: LinkStatus,
        pending: int,
        down_since: datetime | None,
        now: datetime,
    ) -> None:
        """Set everything the bar shows and draw it once (setting each attribute in turn drew
        the whole bar five times at every change of the incident: issue 24).

        A new pending count (Enter, or the hub's acknowledgement) is drawn just after the next
        frame: drawn in Enter's own frame, it asked for a layout and stretched that frame's
        repaint from the top row down. Anything else is drawn at once, in the frame that shows
        the change (an incoming note): a frame of its own for the bar would cost a layout more
        per note."""
        own_command = pending != self.pending
        self.set_reactive(StatusBar.state, state)
        self.set_reactive(StatusBar.link, link)
        self.set_reactive(StatusBar.pending, pending)
        self.set_reactive(StatusBar.down_since, down_since)
        self.set_reactive(StatusBar.now, now)
        if not self.is_mounted:
            return
        if own_command:
            self._redraw_soon()
        else:
            self.redraw()
