"""Cutting text to a width in terminal cells, not characters.

A CJK character or most emoji take two cells, so a name or a summary cut with ``len()`` overflows
its column and pushes the rest of its line out of line with the others.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size


def fit(text: str, width: int) -> str:
    """``text`` if it takes at most ``width`` cells, else cut to ``width`` cells ending in ``…``
    (a two-cell character that would straddle the cut becomes a space)."""
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    return set_cell_size(text, width - 1) + "…"
