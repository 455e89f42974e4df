"""Note an action item for after the incident: what, who owns it, and by when."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from textual.app import ComposeResult
from textual.suggester import SuggestFromList
from textual.widgets import Input

from warroom.console.screens.board_form import Built, CommandForm, field_label
from warroom.core.decisions import MAX_OWNER, MAX_WHAT, FollowUpNoted

#: The due date a new follow-up starts with: the postmortem usually lands within the week.
DEFAULT_DUE = timedelta(days=7)


class FollowUpForm(CommandForm):
    """Anyone in the room notes a follow-up; owner and due date are required."""

    HINT = "enter next field · ctrl+s send · esc cancel"
    ENTER_SENDS = "last"

    HEADING = "Note a follow-up for after the incident"

    def __init__(self, names: list[str], now: datetime) -> None:
        super().__init__()
        self.names = names
        self.now = now

    def fields(self) -> ComposeResult:
        yield field_label("What needs doing")
        yield Input(
            placeholder="e.g. alert on db connection pool saturation",
            id="text",
            max_length=MAX_WHAT,
            compact=True,
        )
        yield field_label("Owner (a person or a team)")
        yield Input(
            placeholder="name",
            id="owner",
            max_length=MAX_OWNER,
            compact=True,
            suggester=SuggestFromList(self.names, case_sensitive=False),
        )
        yield field_label("Due (YYYY-MM-DD)")
        due = (self.now + DEFAULT_DUE).date().isoformat()
        yield Input(value=due, id="due", max_length=10, compact=True)

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    def build(self) -> Built | str:
        text = self.query_one("#text", Input).value.strip()
        owner = self.query_one("#owner", Input).value.strip()
        if not text:
            return "Say what needs doing."
        if not owner:
            return "An action item needs an owner."
        try:
            due = date.fromisoformat(self.query_one("#due", Input).value.strip())
        except ValueError:
            return "Write the due date as YYYY-MM-DD."
        return FollowUpNoted, {"text": text, "owner": owner, "due": due.isoformat()}
