"""The stakeholder update template: the fields a comms lead fills in, prefilled from the incident.

Prefilled text comes from :func:`warroom.core.update_text.prefill`: the declaration and triage
scope, the symptoms, the phase, and the board's confirmed facts; open guesses only in an internal
update. The form sends nothing itself: ``ctrl+s`` opens the preview of the exact text, and the
preview publishes it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static, TextArea

from warroom.console.css import tcss_beside
from warroom.console.screens.board_form import Built, CommandForm, send_key
from warroom.console.screens.form_fields import field_label
from warroom.core.cadence import cadence_of
from warroom.core.comms_state import Audience, UpdateFields
from warroom.core.state import IncidentState
from warroom.core.update_text import (
    Draft,
    RangeError,
    confirmed_facts,
    format_range,
    open_guesses,
    parse_range,
    prefill,
    promised_next,
    triage_scope,
)

#: The single-line fields of the template, by input id: (label, the draft field).
LINE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("f-affected", "Affected", "affected"),
    ("f-not-affected", "Not affected", "not_affected"),
    ("f-expect", "What users should expect", "expect"),
)


def prefill_note(state: IncidentState, audience: Audience) -> str:
    """Says where the starting text came from, and what was deliberately left out."""
    facts = len(confirmed_facts(state))
    affected = triage_scope(state, confirmed_only=audience == Audience.EXTERNAL)
    scope = "triage" if affected and affected != state.scope.strip() else "declaration"
    parts = [
        f"Prefilled: {state.severity} · {state.phase}",
        f"{facts} confirmed fact{'s' if facts != 1 else ''}",
        f"scope from the {scope}",
    ]
    note = " · ".join(parts) + "."
    guesses = len(open_guesses(state))
    if audience == Audience.EXTERNAL and guesses:
        note += f" {guesses} open guess{'es' if guesses != 1 else ''} left out (unconfirmed)."
    elif audience == Audience.INTERNAL and guesses:
        note += " Open guesses are included, labelled unconfirmed."
    return note


class UpdateForm(CommandForm):
    """Write one update for one audience; ``ctrl+s`` previews it."""

    DEFAULT_CSS = tcss_beside(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        send_key("Preview", "Show the exact text before publishing")
    ]
    HINT: ClassVar[str] = "enter next field · ctrl+s preview the exact text · esc cancel"
    ENTER_SENDS = "never"

    def __init__(self, audience: Audience) -> None:
        super().__init__()
        self.audience = audience

    @property
    def incident(self) -> IncidentState:
        client = self.warroom.client
        return client.state if client is not None else IncidentState()

    def heading(self) -> str:
        number = len(self.incident.comms.updates) + 1
        who = "customers" if self.audience == Audience.EXTERNAL else "the company"
        return f"{self.audience.value.capitalize()} update #{number} - for {who}"

    def fields(self) -> ComposeResult:
        state = self.incident
        now = self.warroom.clock()
        draft = prefill(state, self.audience, now)
        yield Static(prefill_note(state, self.audience), id="form-prefilled")
        for input_id, label, attr in LINE_FIELDS:
            yield field_label(label)
            yield Input(getattr(draft.fields, attr), id=input_id, max_length=2000)
        yield field_label("What we are doing")
        yield TextArea(draft.fields.doing, id="f-doing", soft_wrap=True, show_line_numbers=False)
        cadence = cadence_of(state, state.severity)
        minutes = str(int(cadence.total_seconds() // 60)) if cadence else ""
        with Horizontal(id="form-when"):
            with Vertical():
                yield field_label("Expected resolution (30-60, 1-2h)")
                yield Input(format_range(draft.fields.resolution), id="f-resolution")
            with Vertical():
                limit = f"at most {minutes}" if minutes else "blank: when there is news"
                yield field_label(f"Next update in minutes ({limit})")
                yield Input(minutes, id="f-next", type="integer", max_length=4)

    def draft(self) -> Draft | str:
        """The draft as typed, or what is wrong with it."""
        values = {
            attr: self.query_one(f"#{input_id}", Input).value for input_id, _, attr in LINE_FIELDS
        }
        doing = self.query_one("#f-doing", TextArea).text
        try:
            resolution = parse_range(self.query_one("#f-resolution", Input).value)
        except RangeError as exc:
            return str(exc)
        raw_minutes = self.query_one("#f-next", Input).value.strip()
        minutes = int(raw_minutes) if raw_minutes else None
        if minutes is not None and minutes < 1:
            return "The next update must be at least a minute away."
        state = self.incident
        fields = UpdateFields(doing=doing, resolution=resolution, **values)
        return Draft(self.audience, fields, promised_next(state, self.warroom.clock(), minutes))

    def build(self) -> Built | str:  # the template sends nothing; the preview does
        return "Use the preview to publish."

    def action_submit(self) -> None:
        from warroom.console.screens.comms_preview import UpdatePreview

        draft = self.draft()
        if isinstance(draft, str):
            self.show_error(draft)
            return
        self.show_error("")
        self.app.push_screen(UpdatePreview(draft), self._published)

    def _published(self, seq: int | None) -> None:
        """The preview closed: published (a ``seq``) or queued (``QUEUED``) closes the template."""
        if seq is not None:
            self.dismiss(seq)
