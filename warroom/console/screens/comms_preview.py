"""The preview of a stakeholder update: the exact text that will be published, then publishing.

The text is rendered once, when the preview opens, and that same string is what the command
carries; the hub stores it, the timeline shows it and the webhooks post it. A refusal (for
instance an external update quoting an open guess) is shown here, and ``esc`` goes back to the
template to fix it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from warroom.console.css import tcss_beside
from warroom.console.screens.board_form import QUEUED, Built, CommandForm
from warroom.core.comms_state import Audience
from warroom.core.state import IncidentState
from warroom.core.update_text import Draft, clock_time, render


class UpdatePreview(CommandForm):
    """Shows the rendered update; ``ctrl+s`` publishes exactly this text."""

    DEFAULT_CSS = tcss_beside(__file__)
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", "Edit", id="form.cancel", tooltip="Back to the template"),
        Binding(
            "ctrl+s",
            "submit",
            "Publish",
            id="form.submit",
            tooltip="Publish this update to the room and the hub's webhooks",
            priority=True,
        ),
    ]
    HINT: ClassVar[str] = "ctrl+s publish · esc back to the template"
    #: Queued while the link is down: the template under the preview closes too (it is sent).
    QUEUED_RESULT: ClassVar[int | None] = QUEUED

    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.draft = draft
        #: The exact text shown and published; rendered once, when the preview is composed.
        self.text = ""

    def heading(self) -> str:
        return f"Preview: {self.draft.audience.value} update - exactly what will be sent"

    def fields(self) -> ComposeResult:
        client = self.warroom.client
        state = client.state if client is not None else IncidentState()
        self.text = render(state, self.draft, self.warroom.clock())
        yield Static(self.text, id="preview-text", markup=False)
        where = (
            "customers and status channels"
            if self.draft.audience == Audience.EXTERNAL
            else ("the company")
        )
        promise = (
            f"The next update is then due by {clock_time(self.draft.next_update_at)}."
            if self.draft.next_update_at
            else "No next-update time is promised."
        )
        yield Static(
            f"For {where}: on the timeline and posted to the hub's webhooks. {promise}",
            id="preview-where",
        )

    def build(self) -> Built | str:
        next_at = self.draft.next_update_at
        return (
            "update_published",
            {
                "audience": self.draft.audience.value,
                "text": self.text,
                "fields": self.draft.fields.model_dump(mode="json"),
                "next_update_at": next_at.isoformat() if next_at else None,
            },
        )
