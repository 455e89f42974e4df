"""A footer that redraws only when the keys it shows have changed.

Panes ask for their bindings to be refreshed whenever the incident changes (an action may have
become possible). Textual's footer rebuilds all its keys on every such request; with several
panes that is several rebuilds per event, which makes typing lag on a busy incident. This footer
compares what it would show with what it shows, and rebuilds once, only if they differ.

The coalesced redraw is queued on the footer's own message queue (``call_later``), never with
``call_after_refresh``: Textual runs the latter after the refresh of whichever screen is in front
at that moment, so a refresh requested while a form was open, just as the form closed, was
dropped with the form; the footer then believed a redraw was still queued and never redrew again
(the board's keys on every pane for the rest of the session).
"""

from __future__ import annotations

import asyncio

from textual.screen import Screen
from textual.widgets import Footer

#: Seconds a rebuild of the footer waits for the screen's next frame (two frames at 60 Hz).
REBUILD_AFTER = 1 / 30


class CalmFooter(Footer):
    """Footer that coalesces binding refreshes and skips the ones that change nothing."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._shown: tuple[object, ...] | None = None
        self._queued = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._queued:
            # Our own queue runs after the messages already waiting (the pane's focus changes
            # and redraws), so one rebuild still covers a burst of requests.
            self._queued = self.call_later(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self._shown is not None and self.is_attached and self._signature() != self._shown:
            # The frame that shows what the key did (the line posted, the entry line closed)
            # goes out first; the footer's new keys follow a frame or two later. Rebuilding
            # them is Textual's recompose and styling of every key, a frame's worth of CPU or
            # more, which Enter and Escape used to wait for (issue 24). Requests arriving
            # meanwhile are covered by this rebuild.
            await asyncio.sleep(REBUILD_AFTER)
        self._queued = False
        if not self.is_attached:
            return
        shown = self._signature()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def _signature(self) -> tuple[object, ...]:
        """What the footer draws: the keys it shows (``Footer.compose`` leaves out the others).
        A key it does not show (the pane numbers, an input's editing keys, a greyed ``e`` on the
        highlighted row) changes nothing on screen, and rebuilding the footer's keys costs a
        frame's worth of styling (issue 24: most of the time from Enter to the next frame)."""
        return tuple(
            (key, active.binding.action, active.binding.description, active.enabled,
             active.tooltip)
            for key, active in self.screen.active_bindings.items()
            if active.binding.show
        )  # fmt: skip
