"""A drop-down that also takes its choice from the first letters typed: ``bo`` picks bo.

A name is quicker to type than to find with the arrow keys, and a person under pressure types
the name anyway. While the list is closed, letters typed in quick succession pick the first
option whose label starts with them (ignoring case); a pause starts a new prefix. Enter, space
and the arrows open the list as usual.
"""

from __future__ import annotations

import time
from typing import Any

from textual import events
from textual.widgets import Select

#: Letters typed further apart than this start a new prefix.
PREFIX_PAUSE = 1.0


class TypeToPick(Select[Any]):
    """A :class:`~textual.widgets.Select` that picks an option from the letters typed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed = ""
        self._typed_at = 0.0

    def pick(self, prefix: str) -> bool:
        """Choose the first option whose label starts with ``prefix``; whether one did."""
        wanted = prefix.casefold()
        for prompt, value in self._options:
            if value is Select.NULL:
                continue
            if str(prompt).casefold().startswith(wanted):
                self.value = value
                return True
        return False

    def on_key(self, event: events.Key) -> None:
        character = event.character
        if self.expanded or character is None or not character.isprintable() or character == " ":
            return
        now = time.monotonic()
        if now - self._typed_at > PREFIX_PAUSE:
            self._typed = ""
        self._typed_at = now
        if self.pick(self._typed + character):
            self._typed += character
        elif self.pick(character):
            self._typed = character
        event.stop()
        event.prevent_default()
