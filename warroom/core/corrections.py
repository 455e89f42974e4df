"""Corrections without edits, and time as it happened.

The log is append-only, and people make mistakes in the worst hour: a wrong number in a finding,
a card written in haste. A correction is therefore one more event, never an edit of a stored
one: ``entry_amended`` gives an entry its new text with a reason, and the fold keeps every
version, so the timeline shows the current text with a mark and anyone can read what it said
before. Who may amend: the entry's author, the scribe and the IC. What may be amended: what people
write as text (notes, findings, commands run, board cards, evidence). The hub's own events
(presence, timers, deliveries) record facts about the room and are never amended; decisions are
superseded by a new decision, never edited.

Time has two sides too. The hub stamps ``at`` when it stores an event; an entry typed while the
link was down reaches it minutes later. So the console stamps ``noted_at`` (its clock when the
person pressed Enter) on what it writes, and the hub keeps it beside ``at`` after checking it is
neither in the future (beyond :data:`NOTED_SKEW`) nor absurdly old (:data:`NOTED_MAX_AGE`). When
what was written down happened earlier still ("the rollback started at 08:52"), the scribe or the
IC retimes the entry (``entry_retimed``, with a reason): the time it happened is kept apart from
both times of recording, and the postmortem orders its timeline by it.

A correction names its entry by seq. The state does not keep an index of every entry (that
would make it, and every snapshot a console joins with, grow with the number of notes): the hub
looks the named entry up in its log and stamps its type and author on the command
(:func:`name_entry`) before the rules run, so the rules and the fold read them from the event
itself, and every console folds the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.events import (
    EVENT_TYPES,
    Actor,
    EventBase,
    Refusal,
    event,
    refuse,
    require_reason,
)
from warroom.core.local_time import UTC_TIMES, Times
from warroom.core.names import MAX_NAME
from warroom.core.roles import Role

if TYPE_CHECKING:
    from warroom.core.state import IncidentState

#: How far ahead of the hub's clock a console's ``noted_at`` may be (clocks drift).
NOTED_SKEW = timedelta(minutes=5)
#: How old a ``noted_at`` may be: an entry waits in an outbox for hours at most, not days.
NOTED_MAX_AGE = timedelta(hours=24)
#: How far apart ``noted_at`` and ``at`` must be before the timeline shows both.
SHOWN_GAP = timedelta(seconds=5)
#: How long before the declaration a retimed entry may say it happened.
RETIME_BEFORE = timedelta(days=7)
MAX_REASON = 500


class EntryFix(BaseModel):
    """What every correction of an entry keeps: its own seq, when, who and why."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime | None = None
    by: str
    reason: str


class Correction(EntryFix):
    """One amendment of an entry: its new text, who amended it (and as what), when and why."""

    role: Role = Role.RESPONDER
    text: str


class Retime(EntryFix):
    """When an entry actually happened, as the scribe or IC set it, with why."""

    happened_at: datetime


# --- the named entry and the queries every side uses --------------------------------------------
def name_entry(command: EventBase, entry: EventBase | None) -> EventBase:
    """``command`` with the type and author of the entry it names stamped on it, if it is a
    correction; ``entry`` is the stored event at that seq, or ``None`` if there is none.

    What a client sent in those fields is always replaced: who wrote an entry is the record's
    word, never the sender's."""
    if not isinstance(command, EntryCorrection):
        return command
    if entry is None or entry.seq != command.entry:
        return command.model_copy(update={"entry_type": "", "entry_author": ""})
    return command.model_copy(update={"entry_type": entry.type, "entry_author": entry.actor})


def correctable(entry_type: str) -> bool:
    """Whether entries of this type can be amended or retimed at all."""
    cls = EVENT_TYPES.get(entry_type)
    return cls is not None and (cls.amendable or cls.retimable)


def may_amend(state: IncidentState, name: str, author: str) -> bool:
    """The author of an entry, the scribe and the IC may amend it."""
    return name in {author, state.holder(Role.SCRIBE), state.ic} - {None}


def may_retime(state: IncidentState, name: str) -> bool:
    """The scribe keeps the record's times; the IC may too."""
    return name in {state.holder(Role.SCRIBE), state.ic} - {None}


def current_text(state: IncidentState, seq: int, original: str) -> str:
    """What entry ``seq`` says now: its last correction's text, else ``original``."""
    versions = state.corrections.get(seq)
    return versions[-1].text if versions else original


def happened_at(state: IncidentState, ev: EventBase) -> datetime | None:
    """When ``ev`` happened as best the record knows: a retime, else when it was typed, else
    when the hub stored it."""
    retimes = state.retimes.get(ev.seq)
    if retimes:
        return retimes[-1].happened_at
    if ev.noted_at is not None and ev.at is not None:
        return min(ev.noted_at, ev.at)  # a console clock ahead of the hub's says nothing
    return ev.noted_at or ev.at


def typed_apart(ev: EventBase) -> bool:
    """Whether ``ev`` was typed long enough before the hub stored it to show both times.

    Only earlier: an entry cannot be typed after it was received, so a ``noted_at`` later than
    ``at`` is the console's clock running ahead (within :data:`NOTED_SKEW`), not news.
    """
    return ev.noted_at is not None and ev.at is not None and ev.at - ev.noted_at > SHOWN_GAP


def typed_note(ev: EventBase, times: Times = UTC_TIMES) -> str:
    """``◷ typed 11:34:55, received 11:35:42`` (on the clock of ``times``) for an entry typed
    apart from its storing."""
    if not typed_apart(ev):
        return ""
    return f"◷ typed {times.hms(ev.noted_at)}, received {times.hms(ev.at)}"


def corrected(state: IncidentState, ev: EventBase) -> EventBase:
    """``ev`` as it reads now: with the text of its last correction, if it has one."""
    versions = state.corrections.get(ev.seq)
    if not versions or not ev.amendable:
        return ev
    return ev.amended(versions[-1].text)


def check_noted_at(
    command: EventBase, now: datetime, last: datetime | None = None
) -> Refusal | None:
    """A command's ``noted_at`` must be a real moment near ``now``: with a time zone, not ahead
    of the hub beyond :data:`NOTED_SKEW`, and not older than :data:`NOTED_MAX_AGE`.

    ``last`` is the incident's last ``at``: the hub never stamps a time before it, so if its
    clock has gone back, a ``noted_at`` up to there is not "in the future"."""
    noted = command.noted_at
    if noted is None:
        return None
    if noted.tzinfo is None:
        return refuse("invalid", "noted_at needs a time zone (use UTC, e.g. ...Z).")
    if last is not None and last > now:
        now = last
    if noted > now + NOTED_SKEW:
        ahead = int((noted - now).total_seconds() // 60)
        return refuse(
            "invalid",
            f"noted_at is {ahead} minutes ahead of the hub's clock ({noted:%H:%M:%S} UTC, "
            f"the hub says {now:%H:%M:%S}); check this computer's clock.",
        )
    if noted < now - NOTED_MAX_AGE:
        return refuse(
            "invalid",
            f"noted_at {noted:%Y-%m-%d %H:%M} UTC is more than "
            f"{int(NOTED_MAX_AGE.total_seconds() // 3600)} hours old; check this computer's "
            "clock.",
        )
    return None


def _target(command: EntryCorrection, state: IncidentState, verb: str) -> Refusal | None:
    """Why the entry ``command`` names cannot be ``verb``-ed, or ``None`` if it can be."""
    seq = command.entry
    if seq > state.seq or not command.entry_type:
        return refuse("unknown_entry", f"There is no entry #{seq} yet.")
    if correctable(command.entry_type):
        return None
    which = (
        "notes, findings, commands run, board cards and evidence"
        if verb == "amended"
        else "notes, board cards, evidence, decisions and production actions"
    )
    return refuse("not_amendable", f"Entry #{seq} cannot be {verb}: only {which} can be.")


# --- events --------------------------------------------------------------------------------------
class EntryCorrection(EventBase):
    """What amending and retiming share: the entry they name, and why (never left out)."""

    #: The seq of the entry corrected.
    entry: int = Field(ge=1)
    #: Required: left out or blank is ``reason_required``, as for every event that needs one.
    reason: str = Field(default="", max_length=MAX_REASON)
    #: The named entry's event type and author, stamped by the hub from its log (see
    #: :func:`name_entry`); a command leaves them out and anything sent is replaced.
    entry_type: str = Field(default="", max_length=64)
    entry_author: str = Field(default="", max_length=MAX_NAME)
    hub_filled: ClassVar[frozenset[str]] = frozenset({"entry_type", "entry_author"})

    def target(self, state: IncidentState) -> Refusal | None:
        """Why the entry named cannot be corrected this way, or ``None``."""
        return _target(self, state, self.timeline_kind)


@event
class EntryAmended(EntryCorrection):
    """An entry's text put right, with a reason. The old text stays in the record."""

    type: Literal["entry_amended"] = "entry_amended"
    text: str = Field(min_length=1, max_length=4000)

    timeline_kind = "amended"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self.target(state)
        if found is not None:
            return found
        kind, author = self.entry_type, self.entry_author
        cls = EVENT_TYPES[kind]
        if not cls.amendable:
            if kind == "decision_recorded":
                return refuse(
                    "not_amendable",
                    f"Decisions are never edited: record a new decision that supersedes the "
                    f"one at #{self.entry}.",
                )
            return refuse(
                "not_amendable",
                f"Entry #{self.entry} ({kind.replace('_', ' ')}) cannot be amended; the scribe "
                "can retime it, or add a note.",
            )
        if not may_amend(state, actor.name, author):
            return refuse(
                "forbidden",
                f"Only {author}, who wrote #{self.entry}, the scribe or the IC can amend it.",
            )
        text = self.text.strip()
        if not text:
            return refuse("invalid", "An amended entry needs some text.")
        if len(text) > cls.amendable_limit:
            return refuse("invalid", f"Keep it under {cls.amendable_limit} characters.")
        missing = require_reason(self.reason, "Say why the entry is amended.")
        if missing is not None:
            return missing
        before = state.corrections.get(self.entry)
        before_text: str | None
        if kind == "board_item_added" and self.entry in state.board:
            before_text = state.board[self.entry].text
        else:
            before_text = before[-1].text if before else None
        if before_text is not None and before_text == text:
            return refuse("invalid", f"#{self.entry} already reads that way.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        text = self.text.strip()
        version = Correction(
            seq=self.seq,
            at=self.at,
            by=self.actor,
            role=self.role,
            text=text,
            reason=self.reason.strip(),
        )
        corrections = {
            **state.corrections,
            self.entry: (*state.corrections.get(self.entry, ()), version),
        }
        after = state.model_copy(update={"corrections": corrections})
        if self.entry_type:
            return EVENT_TYPES[self.entry_type].fold_amendment(after, self.entry, text, self)
        # Recorded before the hub stamped the entry's type: only board cards and their evidence
        # change beyond the versions kept, and each finds (or not) its own entry.
        for kind in ("board_item_added", "evidence_added"):
            after = EVENT_TYPES[kind].fold_amendment(after, self.entry, text, self)
        return after

    def describe(self) -> str:
        return f"Amended #{self.entry}: {_cut(self.text)}; reason: {_cut(self.reason, 60)}"


@event
class EntryRetimed(EntryCorrection):
    """When an entry actually happened, set by the scribe or IC apart from when it was
    recorded."""

    type: Literal["entry_retimed"] = "entry_retimed"
    happened_at: datetime

    timeline_kind = "retimed"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self.target(state)
        if found is not None:
            return found
        if not may_retime(state, actor.name):
            return refuse("forbidden", "Only the scribe or the IC retimes entries.")
        if self.happened_at.tzinfo is None:
            return refuse("invalid", "happened_at needs a time zone (use UTC, e.g. ...Z).")
        if self.happened_at > now + NOTED_SKEW:
            return refuse("invalid", "An entry cannot have happened in the future.")
        start = state.declared_at or now
        if self.happened_at < start - RETIME_BEFORE:
            return refuse("invalid", "That is more than a week before the incident was declared.")
        return require_reason(self.reason, "Say how you know when it happened.")

    def fold(self, state: IncidentState) -> IncidentState:
        retime = Retime(
            seq=self.seq,
            at=self.at,
            by=self.actor,
            happened_at=self.happened_at,
            reason=self.reason.strip(),
        )
        retimes = {**state.retimes, self.entry: (*state.retimes.get(self.entry, ()), retime)}
        return state.model_copy(update={"retimes": retimes})

    def describe(self) -> str:
        return self.describe_on(UTC_TIMES)

    def describe_on(self, times: Times) -> str:
        """The timeline's line on a console's clock (``describe`` is it in UTC)."""
        return (
            f"Retimed #{self.entry}: happened at {times.hms(self.happened_at)} "
            f"{times.abbrev(self.happened_at)}; reason: {_cut(self.reason, 60)}"
        )


def _cut(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
