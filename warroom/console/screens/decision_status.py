"""The IC's status update: a drafted line to edit, then posted to the timeline as a status note."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import TextArea

from warroom.console.screens.board_form import Built, CommandForm
from warroom.console.screens.form_fields import field_label
from warroom.core.incident import MAX_TEXT, NoteAdded, NoteKind


class StatusUpdateForm(CommandForm):
    """Edit the drafted status line and post it (``ctrl+s``)."""

    HEADING = "Internal status update"
    HINT = "ctrl+s post to the timeline · esc cancel"

    def __init__(self, draft: str) -> None:
        super().__init__()
        self.draft = draft

    def fields(self) -> ComposeResult:
        yield field_label("Drafted from the board, the roster and the decision log; edit freely")
        yield TextArea(
            self.draft,
            id="status-text",
            soft_wrap=True,
            show_line_numbers=False,
            max_checkpoints=50,
        )

    def on_mount(self) -> None:
        area = self.query_one("#status-text", TextArea)
        area.focus()
        area.cursor_blink = getattr(self.app, "blink", True)

    def build(self) -> Built | str:
        text = " ".join(self.query_one("#status-text", TextArea).text.split())
        if not text:
            return "The status line is empty."
        if len(text) > MAX_TEXT:
            return f"Keep it under {MAX_TEXT} characters."
        return NoteAdded, {"text": text, "kind": NoteKind.STATUS.value}
