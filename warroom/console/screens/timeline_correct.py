"""Putting an entry of the record right: amend its text, or say when it really happened.

Both are forms over the timeline, opened on the highlighted row (``e`` amends, ``t`` retimes):
each sends one more event with a reason, never an edit of what was stored. The hub answers with
the core's own rule: the author, the scribe or the IC amend; the scribe or the IC retime.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.widgets import Input, Static

from warroom.console.clock_face import shown_times
from warroom.console.screens.board_form import Built, CommandForm
from warroom.console.screens.form_fields import field_label
from warroom.core.corrections import MAX_REASON, EntryAmended, EntryRetimed, happened_at
from warroom.core.events import EventBase
from warroom.core.local_time import UTC_TIMES, Times
from warroom.core.redaction import MAX_REDACT_REASON, EntryRedacted
from warroom.core.state import IncidentState


def entry_title(event: EventBase) -> str:
    """``#42 finding by bo at 09:31:05``: which entry a form is about."""
    when = f" at {shown_times().hms(event.at)}" if event.at else ""
    return f"#{event.seq} {event.entry_kind().replace('_', ' ')} by {event.actor}{when}"


class EntryForm(CommandForm):
    """A form about one entry as it reads now (``current``); its heading names the entry."""

    ENTER_SENDS = "last"
    #: What the form does to the entry, in its heading.
    VERB: ClassVar[str] = ""

    def __init__(self, event: EventBase, current: str) -> None:
        super().__init__()
        self.event = event
        self.current = current

    def heading(self) -> str:
        return f"{self.VERB} {entry_title(self.event)}"


class AmendForm(EntryForm):
    """The entry's current text, ready to correct, and why."""

    VERB = "Amend"
    HINT = "enter moves on, and sends from the reason · ctrl+s send · esc cancel"

    def fields(self) -> ComposeResult:
        yield Static(
            "The old text stays in the record; the timeline shows the new one (✎).",
            classes="card-quote",
        )
        yield field_label("What it should say")
        yield Input(
            value=self.current,
            id="amend-text",
            max_length=self.event.amendable_limit,
            compact=True,
            # The text is there to be corrected, not replaced by the first key pressed.
            select_on_focus=False,
        )
        yield field_label("Why (e.g. misread the graph: 13 minutes, not 3)")
        yield Input(placeholder="the reason", id="amend-reason", max_length=MAX_REASON,
                    compact=True)  # fmt: skip

    def on_mount(self) -> None:
        self.query_one("#amend-text", Input).focus()

    def build(self) -> Built | str:
        text = self.query_one("#amend-text", Input).value.strip()
        reason = self.query_one("#amend-reason", Input).value.strip()
        if not text:
            return "Say what the entry should say."
        if text == self.current.strip():
            return "That is what it says already: change the text, or Esc."
        if not reason:
            return "Say why the entry is amended."
        return EntryAmended, {"entry": self.event.seq, "text": text, "reason": reason}


def parse_happened(text: str, recorded: datetime, times: Times = UTC_TIMES) -> datetime | None:
    """A time typed as ``HH:MM`` or ``HH:MM:SS`` on the console's clock (``times``), on the day
    the entry was recorded, or the day before if that would put it after the recording (23:50
    for an entry recorded at 00:05); or a date and time, in that zone unless it names its own."""
    return times.read(text, recorded) if text.strip() else None


class RetimeForm(CommandForm):
    """When the entry really happened (on the console's clock, which it names), and how we
    know."""

    ENTER_SENDS = "last"
    HINT = "enter moves on, and sends from the reason · ctrl+s send · esc cancel"

    def __init__(self, event: EventBase, state: IncidentState) -> None:
        super().__init__()
        self.event = event
        self.state = state

    def heading(self) -> str:
        return f"Retime {entry_title(self.event)}"

    def fields(self) -> ComposeResult:
        event = self.event
        clock = shown_times()
        times = f"Recorded by the hub at {clock.hms(event.at)}" if event.at else "Recorded"
        if event.noted_at is not None:
            times += f"; typed at {clock.hms(event.noted_at)}"
        now = happened_at(self.state, event)
        if now is not None and self.state.retimes.get(event.seq):
            times += f"; retimed to {clock.hms(now)}"
        yield Static(f"{times} ({clock.label}). Those times stay; this sets when it happened.",
                     classes="card-quote")  # fmt: skip
        yield field_label(f"When it happened, {clock.label} (HH:MM or HH:MM:SS)")
        yield Input(placeholder="e.g. 08:52", id="retime-at", max_length=40, compact=True)
        yield field_label("How we know (e.g. the deploy log says 08:52)")
        yield Input(placeholder="the reason", id="retime-reason", max_length=MAX_REASON,
                    compact=True)  # fmt: skip

    def on_mount(self) -> None:
        self.query_one("#retime-at", Input).focus()

    def build(self) -> Built | str:
        typed = self.query_one("#retime-at", Input).value
        reason = self.query_one("#retime-reason", Input).value.strip()
        recorded = self.event.at or datetime.now(UTC)
        when = parse_happened(typed, recorded, shown_times())
        if when is None:
            return f"Give the time as HH:MM or HH:MM:SS ({shown_times().label}), e.g. 08:52."
        if not reason:
            return "Say how you know when it happened."
        return EntryRetimed, {
            "entry": self.event.seq,
            "happened_at": when.isoformat(),
            "reason": reason,
        }


class RedactForm(EntryForm):
    """Remove what an entry says from the record for good (IC or scribe), with why.

    Unlike an amendment nothing of the old text is kept: the form says so, and shows the entry
    as it reads now, so the person sees which entry they are about to blank."""

    VERB = "Redact"
    HINT = "enter or ctrl+s redact · esc cancel"

    def fields(self) -> ComposeResult:
        yield Static(self.current, classes="card-quote", markup=False)
        yield Static(
            "The text goes for good: from the hub's database, every console, later exports and "
            "webhook retries. Everyone sees [redacted by you: the reason]. To correct a mistake "
            "instead, Esc and amend it (e).",
            markup=False,
        )
        yield field_label(f"Why (everyone reads this; at most {MAX_REDACT_REASON} characters)")
        yield Input(placeholder="e.g. database password pasted", id="redact-reason",
                    max_length=MAX_REDACT_REASON, compact=True)  # fmt: skip

    def on_mount(self) -> None:
        self.query_one("#redact-reason", Input).focus()

    def build(self) -> Built | str:
        reason = self.query_one("#redact-reason", Input).value.strip()
        if not reason:
            return "Say why (e.g. a database password was pasted)."
        return EntryRedacted, {"entry": self.event.seq, "reason": reason}
