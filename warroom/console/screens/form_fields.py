"""What the console's forms build their fields from and read them back with.

Every form labels its fields the same way, focuses one field when it opens, and reads text
fields trimmed; written once here, a form's module says only which fields it has.
"""

from __future__ import annotations

from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import Input, Label


def field_label(text: str) -> Label:
    """A label above a form field."""
    return Label(text, classes="field-label")


def text_field(
    label: str,
    id: str,
    *,
    value: str = "",
    placeholder: str = "",
    max_length: int = 0,
    suggester: Suggester | None = None,
) -> ComposeResult:
    """A compact one-line input under its label (``max_length`` 0: no limit)."""
    yield field_label(label)
    yield Input(
        value=value,
        placeholder=placeholder,
        id=id,
        max_length=max_length,
        compact=True,
        suggester=suggester,
    )


class FormFields:
    """Mix into a form screen (before the Textual screen class): ``FIRST`` is the field focused
    when it opens (a form with a rule of its own leaves it empty and focuses in its own
    ``on_mount``; Textual runs both)."""

    FIRST: ClassVar[str] = ""

    def _form(self) -> Screen[object]:
        return cast("Screen[object]", self)

    def on_mount(self) -> None:
        if self.FIRST:
            self._form().query_one(self.FIRST).focus()

    def typed(self, selector: str) -> str:
        """What the user typed in the input ``selector``, without surrounding white space."""
        return self._form().query_one(selector, Input).value.strip()
