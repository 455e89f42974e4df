"""The decision log and the follow-ups: why each call was made, and what to fix afterwards.

Only the incident commander records decisions. Each one says what was decided, why, which options
were weighed, which confirmed facts it rests on (cards from the board) and who carries it out. A
decision is never edited: a later decision supersedes it and the two stay linked, so the
postmortem can read how the room's thinking moved.

Follow-ups are action items for after the incident that anyone may note while they are fresh;
they carry an owner and a due date because "improve testing" with neither is not an action.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.board import ItemStatus, quote
from warroom.core.events import Actor, EventBase, Refusal, event, refuse, require_reason

if TYPE_CHECKING:
    from warroom.core.state import IncidentState

MAX_WHAT = 500
MAX_WHY = 4000
MAX_OPTION = 300
MAX_OWNER = 60


class Decision(BaseModel):
    """One numbered entry of the decision log."""

    model_config = ConfigDict(frozen=True)

    no: int
    what: str
    why: str
    options: tuple[str, ...] = ()
    #: Board card numbers of the confirmed facts the decision rests on.
    facts: tuple[int, ...] = ()
    owner: str | None = None
    decided_by: str
    at: datetime | None = None
    seq: int = 0
    supersedes: int | None = None
    superseded_by: int | None = None

    @property
    def label(self) -> str:
        return f"D{self.no}"

    @property
    def active(self) -> bool:
        """Still standing: no later decision has replaced it."""
        return self.superseded_by is None


class FollowUp(BaseModel):
    """An action item for after the incident, for the postmortem."""

    model_config = ConfigDict(frozen=True)

    no: int
    text: str
    owner: str
    due: date
    noted_by: str
    at: datetime | None = None
    seq: int = 0

    @property
    def label(self) -> str:
        return f"A{self.no}"


def may_decide(state: IncidentState, name: str) -> bool:
    """Decisions are the IC's: the console offers the form to the IC alone."""
    return state.is_ic(name)


@event
class DecisionRecorded(EventBase):
    """The IC records a decision, optionally superseding an earlier one."""

    type: Literal["decision_recorded"] = "decision_recorded"
    what: str = Field(min_length=1, max_length=MAX_WHAT)
    #: The decision's reason. Required: left out or blank is ``reason_required`` (see ``check``).
    why: str = Field(default="", max_length=MAX_WHY)
    options: list[str] = Field(default_factory=list, max_length=12)
    facts: list[int] = Field(default_factory=list, max_length=30)
    owner: str | None = Field(default=None, max_length=MAX_OWNER)
    supersedes: int | None = Field(default=None, ge=1)

    timeline_kind = "decision"
    #: Decided on a call before it was typed: the scribe may say when. Never amended (superseded).
    retimable = True

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not may_decide(state, actor.name):
            return refuse("forbidden", "Only the incident commander records decisions.")
        if not self.what.strip():
            return refuse("invalid", "Say what was decided.")
        missing = require_reason(self.why, "Say why: the rationale is what the postmortem needs.")
        if missing is not None:
            return missing
        if any(len(o) > MAX_OPTION for o in self.options):
            return refuse("invalid", f"Keep each option under {MAX_OPTION} characters.")
        if len(set(self.facts)) != len(self.facts):
            return refuse("invalid", "A fact is listed twice.")
        for no in self.facts:
            card = state.board.get(no)
            if card is None:
                return refuse("unknown_item", f"There is no card #{no} on the board.")
            if card.status != ItemStatus.CONFIRMED:
                return refuse(
                    "not_a_fact",
                    f"#{no} is not a confirmed fact ({card.status.value.replace('_', ' ')}); "
                    "a decision rests on facts only.",
                )
        if self.owner is not None:
            if self.owner not in state.participants:
                return refuse("unknown_participant", f"Nobody called {self.owner!r} has joined.")
            if state.is_observer(self.owner):
                return refuse("forbidden", f"{self.owner} is an observer and cannot carry it out.")
        if self.supersedes is not None:
            old = state.decisions.get(self.supersedes)
            if old is None:
                return refuse("unknown_decision", f"There is no decision D{self.supersedes}.")
            if old.superseded_by is not None:
                return refuse(
                    "already_superseded",
                    f"D{old.no} was already superseded by D{old.superseded_by}; "
                    f"supersede D{old.superseded_by} instead.",
                )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        no = len(state.decisions) + 1
        decisions = dict(state.decisions)
        decisions[no] = Decision(
            no=no,
            what=self.what.strip(),
            why=self.why.strip(),
            options=tuple(o.strip() for o in self.options if o.strip()),
            facts=tuple(self.facts),
            owner=self.owner,
            decided_by=self.actor,
            at=self.at,
            seq=self.seq,
            supersedes=self.supersedes,
        )
        if self.supersedes is not None:
            old = decisions[self.supersedes]
            decisions[self.supersedes] = old.model_copy(update={"superseded_by": no})
        return state.model_copy(update={"decisions": decisions})

    def describe(self) -> str:
        line = f"Decided: {quote(self.what)}"
        if self.supersedes is not None:
            line += f" (supersedes D{self.supersedes})"
        line += f"; why: {quote(self.why, 60)}"
        if self.owner:
            line += f"; carried out by {self.owner}"
        if self.facts:
            line += "; rests on " + ", ".join(f"#{n}" for n in self.facts)
        return line


@event
class FollowUpNoted(EventBase):
    """Anyone notes an action item for after the incident, with an owner and a due date."""

    type: Literal["follow_up_noted"] = "follow_up_noted"
    text: str = Field(min_length=1, max_length=MAX_WHAT)
    owner: str = Field(min_length=1, max_length=MAX_OWNER)
    due: date

    timeline_kind = "follow_up"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not self.text.strip():
            return refuse("invalid", "Say what needs doing.")
        if not self.owner.strip():
            return refuse("invalid", "An action item needs an owner.")
        if self.due < now.date():
            return refuse("invalid", f"The due date {self.due.isoformat()} has already passed.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        no = len(state.follow_ups) + 1
        follow_ups = dict(state.follow_ups)
        follow_ups[no] = FollowUp(
            no=no,
            text=self.text.strip(),
            owner=self.owner.strip(),
            due=self.due,
            noted_by=self.actor,
            at=self.at,
            seq=self.seq,
        )
        return state.model_copy(update={"follow_ups": follow_ups})

    def describe(self) -> str:
        return (
            f"Follow-up: {quote(self.text)} "
            f"(owner {self.owner.strip()}, due {self.due.isoformat()})"
        )
