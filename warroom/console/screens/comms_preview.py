"""The preview of a stakeholder update: the exact text that will be published, then publishing.

The text is rendered once, when the preview opens, and that same string is what the command
carries; the hub stores it, the timeline shows it and the webhooks post it. A refusal (for
instance an external update quoting an open guess) is shown here, and ``esc`` goes back to the
template to fix it.

An external update with a sentence that closely resembles an open guess (a paraphrase the hub's
exact-quote rule cannot see) is flagged here: ``ctrl+s`` then does not publish it, ``ctrl+y``
publishes it anyway, and the update carries the guesses it was published despite, so the
choice is on the timeline.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from warroom.console.css import tcss_beside
from warroom.console.screens.board_form import QUEUED, Built, CommandForm, send_key
from warroom.core.comms import UpdatePublished
from warroom.core.comms_state import Audience
from warroom.core.state import IncidentState
from warroom.core.update_text import (
    Draft,
    Resemblance,
    clock_time,
    render,
    resembling_guesses,
    update_texts,
)


class UpdatePreview(CommandForm):
    """Shows the rendered update; ``ctrl+s`` publishes exactly this text."""

    DEFAULT_CSS = tcss_beside(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Edit", id="form.cancel", tooltip="Back to the template"),
        send_key("Publish", "Publish this update to the room and the hub's webhooks"),
        Binding(
            "ctrl+y",
            "publish_anyway",
            "Publish anyway",
            id="form.publish_anyway",
            tooltip="Publish although a sentence resembles an open guess; the timeline says so",
            priority=True,
        ),
    ]
    HINT: ClassVar[str] = "ctrl+s publish · esc back to the template"
    #: Queued while the link is down: the template under the preview closes too (it is sent).
    QUEUED_RESULT: ClassVar[int | None] = QUEUED
    FLAGGED_HINT: ClassVar[str] = "esc back to the template · ctrl+y publish anyway"

    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.draft = draft
        #: The exact text shown and published; rendered once, when the preview is composed.
        self.text = ""
        #: Sentences of an external update that resemble an open guess.
        self.flagged: list[Resemblance] = []
        #: Set by ``ctrl+y``: publish although sentences resemble open guesses.
        self.anyway = False

    def heading(self) -> str:
        return f"Preview: {self.draft.audience.value} update - exactly what will be sent"

    def fields(self) -> ComposeResult:
        client = self.warroom.client
        state = client.state if client is not None else IncidentState()
        self.text = render(state, self.draft, self.warroom.clock())
        if self.draft.audience == Audience.EXTERNAL:
            self.flagged = resembling_guesses(state, *update_texts(self.text, self.draft.fields))
        yield Static(self.text, id="preview-text", markup=False)
        if self.flagged:
            yield Static(flag_text(self.flagged), id="preview-flagged")
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

    def on_mount(self) -> None:
        if self.flagged:
            self.query_one("#form-hint", Static).update(self.FLAGGED_HINT)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "publish_anyway":
            return bool(self.flagged)
        return True

    def action_publish_anyway(self) -> None:
        if self.flagged:
            self.anyway = True
            self.action_submit()

    def build(self) -> Built | str:
        if self.flagged and not self.anyway:
            return (
                "This external update reads like an open guess, not a confirmed fact. Press esc "
                "to edit it, or ctrl+y to publish it anyway (the timeline will say so)."
            )
        next_at = self.draft.next_update_at
        payload: dict[str, object] = {
            "audience": self.draft.audience.value,
            "text": self.text,
            "fields": self.draft.fields.model_dump(mode="json"),
            "next_update_at": next_at.isoformat() if next_at else None,
        }
        if self.flagged:
            payload["despite_guesses"] = sorted({r.guess_no for r in self.flagged})
        return UpdatePublished, payload


def flag_text(flagged: list[Resemblance]) -> Text:
    """The flagged sentences, each with the open guess it resembles."""
    text = Text("⚠ Resembles an open guess (unconfirmed):", style="bold")
    for found in flagged:
        text.append("\n  “")
        text.append(found.sentence, style="italic")
        text.append(f"” ~ #{found.guess_no} “{found.guess}”")
    return text
