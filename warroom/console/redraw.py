"""Redrawing only what changed.

Textual's ``Static.update`` always asks for a layout of the screen, even when the new text is the
one already shown; the compositor then repaints the whole span between every widget that asked.
The status bar alone updated eight labels for each of the five attributes the console screen
sets on every change, so each incoming event and each key repainted the whole screen, status bar
to footer (issue 24: most of a frame's time). Widgets that redraw on every change of the
incident set their text through :func:`show`, which leaves an unchanged text alone.
"""

from __future__ import annotations

from rich.text import Text
from textual.visual import VisualType
from textual.widgets import Static


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
