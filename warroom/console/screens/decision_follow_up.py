"""Note an action item for after the incident: what, who owns it, and by when."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from textual.app import ComposeResult
from textual.suggester import SuggestFromList

from warroom.console.clock_face import shown_times
from warroom.console.screens.board_form import Built, CommandForm
from warroom.console.screens.form_fields import text_field
from warroom.core.decisions import MAX_OWNER, MAX_WHAT, FollowUpNoted

#: The due date a new follow-up starts with: the postmortem usually lands within the week.
DEFAULT_DUE = timedelta(days=7)


class FollowUpForm(CommandForm):
    """Anyone in the room notes a follow-up; owner and due date are required."""

    HINT = "enter next field · ctrl+s send · esc cancel"
    ENTER_SENDS = "last"

    HEADING = "Note a follow-up for after the incident"
    FIRST = "#text"

    def __init__(self, names: list[str], now: datetime) -> None:
        super().__init__()
        self.names = names
        self.now = now

    def fields(self) -> ComposeResult:
        yield from text_field(
            "What needs doing",
            "text",
            placeholder="e.g. alert on db connection pool saturation",
            max_length=MAX_WHAT,
        )
        yield from text_field(
            "Owner (a person or a team)",
            "owner",
            placeholder="name",
            max_length=MAX_OWNER,
            suggester=SuggestFromList(self.names, case_sensitive=False),
        )
        times = shown_times()
        due = times.local(self.now + DEFAULT_DUE).date().isoformat()
        yield from text_field(f"Due (YYYY-MM-DD, {times.label})", "due", value=due, max_length=10)

    def build(self) -> Built | str:
        text = self.typed("#text")
        owner = self.typed("#owner")
        if not text:
            return "Say what needs doing."
        if not owner:
            return "An action item needs an owner."
        try:
            due = date.fromisoformat(self.typed("#due"))
        except ValueError:
            return "Write the due date as YYYY-MM-DD."
        return FollowUpNoted, {"text": text, "owner": owner, "due": due.isoformat()}
