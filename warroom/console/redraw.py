"""Redrawing only what changed.

Textual's ``Static.update`` always asks for a layout of the screen, even when the new text is the
one already shown; the compositor then repaints the whole span between every widget that asked.
The status bar alone updated eight labels for each of the five attributes the console screen
sets on every change, so each incoming event and each key repainted the whole screen, status bar
to footer (issue 24: most of a frame's time). Widgets that redraw on every change of the
incident set their text through :func:`show`, which leaves an unchanged text alone.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Static

#: A callback queued for after a frame this long ago and not run yet is queued again (see
#: :class:`AfterFrame`).
STUCK_S = 1.0
#: Seconds after which a callback waiting for a frame runs anyway (no frame came).
FALLBACK_S = 0.1


def show(widget: Static, content: VisualType, *, layout: bool = True) -> bool:
    """Show ``content`` in ``widget`` unless it shows exactly that already; True if redrawn.

    ``layout=False`` for a widget whose size does not depend on its text (a fixed width and
    height): the new text is then painted without a layout of the screen.
    """
    if _same(widget.content, content):
        return False
    widget.update(content, layout=layout)
    return True


def _same(shown: VisualType, new: VisualType) -> bool:
    """Whether ``new`` draws exactly as ``shown`` does. Only plain strings and rich ``Text`` are
    compared (``Text.__eq__`` ignores the base style and the wrapping, so they are compared
    here); anything else counts as changed."""
    if type(shown) is not type(new):
        return False
    if isinstance(new, str):
        return shown == new
    if isinstance(new, Text) and isinstance(shown, Text):
        return _text_key(shown) == _text_key(new)
    return False


def _text_key(text: Text) -> tuple[object, ...]:
    return (text.plain, text.spans, text.style, text.justify, text.overflow, text.no_wrap,
            text.end, text.tab_size)  # fmt: skip


class AfterFrame:
    """Runs a widget's callback once, just after the next frame the app draws, however often it
    is asked for until then.

    What a key changes away from where the person looks (the footer's keys, the status bar's
    pending count) then costs nothing in that key's frame: drawn there, it asks for a layout
    and stretches the frame's repaint from the top row or to the bottom one (issue 24, fifth
    pass); it shows one frame (about 16 ms) later.

    The app calls what waits for its next frame (:meth:`WarroomApp._display`); if no frame comes
    within :data:`FALLBACK_S` (nothing else changed on screen), the callback runs then. Neither
    Textual's ``call_after_refresh`` (run after the refresh of whichever screen is in front at
    that moment: a form that closes before its next refresh drops it) nor its screen's idle
    callbacks (run as soon as the screen is idle, before the key's own changes reached it) say
    "after the frame". A callback queued longer than :data:`STUCK_S` ago is queued again on the
    next request, whatever happened to it.
    """

    def __init__(self, widget: Widget, callback: Callable[[], Any]) -> None:
        self.widget = widget
        self.callback = callback
        #: When the callback was queued (None: it is not).
        self.queued: float | None = None

    def __call__(self) -> None:
        """Ask for the callback after the next frame."""
        now = time.monotonic()
        if self.queued is not None and now - self.queued <= STUCK_S:
            return
        self.queued = now
        waiting: list[Callable[[], None]] | None = getattr(self.widget.app, "after_frame", None)
        if waiting is None:  # not the console's app: as soon as the widget's queue allows
            self.widget.call_later(self._run)
            return
        waiting.append(self._due)
        asyncio.get_running_loop().call_later(FALLBACK_S, self._due)

    def _due(self) -> None:
        if self.queued is not None and self.widget.is_attached:
            self.widget.call_next(self._run)

    async def _run(self) -> None:
        if self.queued is None:
            return  # already run (the frame and the fallback both asked)
        self.queued = None
        result = self.callback()
        if inspect.isawaitable(result):
            await result
