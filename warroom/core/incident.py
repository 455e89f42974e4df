"""The events every incident has: declaration, people coming and going, roles, and notes."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from warroom.core.events import Actor, EventBase, Refusal, event, refuse
from warroom.core.handoff_state import OfferEnd, end_offer
from warroom.core.local_time import MAX_ZONE, is_zone, reference_zone
from warroom.core.phases import Phase
from warroom.core.roles import HELD_ROLES, ROLE_TITLES, Role
from warroom.core.settings import HubSettings
from warroom.core.severity import Severity
from warroom.core.state import IncidentState, Participant, RoleHolding

#: Longest free text accepted in one field; the wire limit caps a whole message anyway.
MAX_TEXT = 4000
MAX_TITLE = 200

_DRILL_MARK = re.compile(r"^\s*\[?drill\]?\s*[:·\-–]?\s*", re.IGNORECASE)


def without_drill_mark(title: str) -> str:
    """``title`` without a leading ``DRILL:`` (scenario titles carry one of their own)."""
    return _DRILL_MARK.sub("", title, count=1) or title


def drill_title(title: str, drill: bool) -> str:
    """The title as screens show it: ``DRILL · ...`` once for a drill, never ``DRILL · DRILL:``."""
    return f"DRILL · {without_drill_mark(title)}" if drill else title


@event
class IncidentDeclared(EventBase):
    """The first event of every incident, from the declaration template."""

    type: Literal["incident_declared"] = "incident_declared"
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    severity: Severity
    detected_at: datetime | None = None
    trigger: str = Field(default="", max_length=MAX_TEXT)
    symptoms: str = Field(default="", max_length=MAX_TEXT)
    scope: str = Field(default="", max_length=MAX_TEXT)
    drill: bool = False
    #: The reference time zone (an IANA name such as ``Europe/Berlin``) people mean when they
    #: say "08:45" about this incident; every time in the record stays UTC.
    timezone: str = Field(default="", max_length=MAX_ZONE)
    omitted_when_empty: ClassVar[frozenset[str]] = frozenset({"timezone"})
    #: Stamped by the hub from its configuration; anything a client sends here is replaced.
    settings: HubSettings | None = None
    hub_filled: ClassVar[frozenset[str]] = frozenset({"settings"})

    timeline_kind = "declared"

    def hub_fill(
        self, settings: HubSettings, state: IncidentState | None = None
    ) -> IncidentDeclared:
        return self.model_copy(update={"settings": settings})

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if state.declared:
            return refuse("already_declared", "This incident has already been declared.")
        if not self.title.strip():
            return refuse("invalid", "An incident needs a title.")
        if actor.seat == Role.OBSERVER:
            return refuse("forbidden", "Observers cannot declare incidents.")
        if self.detected_at is not None and self.detected_at.tzinfo is None:
            return refuse("invalid", "detected_at needs a timezone (use UTC, e.g. ...Z).")
        if self.detected_at is not None and self.detected_at > now:
            return refuse("invalid", "The problem cannot be detected in the future.")
        if self.timezone and not is_zone(self.timezone):
            return refuse(
                "invalid", f"No time zone called {self.timezone!r}: use a name like Europe/Berlin."
            )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        roles = dict(state.roles)
        if self.actor:
            roles[Role.IC] = RoleHolding(holder=self.actor, since=self.at)
        return state.model_copy(
            update={
                "declared": True,
                "incident_id": self.incident_id,
                "title": self.title,
                "severity": self.severity,
                "phase": Phase.DETECTED,
                "drill": self.drill,
                "declared_by": self.actor,
                "declared_at": self.at,
                "detected_at": self.detected_at or self.at,
                "trigger": self.trigger,
                "symptoms": self.symptoms,
                "scope": self.scope,
                "timezone": reference_zone(self.timezone),
                "roles": roles,
                "settings": self.settings or HubSettings(),
            }
        )

    def describe(self) -> str:
        drill = "DRILL " if self.drill else ""
        return f"{drill}{self.severity} declared: {self.title}"


@event
class ParticipantJoined(EventBase):
    """Recorded by the hub when someone's first connection to the incident opens."""

    type: Literal["participant_joined"] = "participant_joined"
    name: str
    seat: Role

    hub_only = True
    timeline_kind = "presence"

    def fold(self, state: IncidentState) -> IncidentState:
        before = state.participants.get(self.name)
        participants = dict(state.participants)
        participants[self.name] = Participant(
            name=self.name,
            seat=self.seat,
            joined_at=before.joined_at if before else self.at,
            online=True,
            last_seen=self.at,
        )
        return state.model_copy(update={"participants": participants})

    def describe(self) -> str:
        return f"{self.name} joined as {ROLE_TITLES[self.seat].lower()}"


@event
class ParticipantLeft(EventBase):
    """Recorded by the hub when someone's last connection to the incident closes."""

    type: Literal["participant_left"] = "participant_left"
    name: str

    hub_only = True
    timeline_kind = "presence"

    def fold(self, state: IncidentState) -> IncidentState:
        before = state.participants.get(self.name)
        if before is None:
            return state
        participants = dict(state.participants)
        participants[self.name] = before.model_copy(update={"online": False, "last_seen": self.at})
        return state.model_copy(update={"participants": participants})

    def describe(self) -> str:
        return f"{self.name} went offline"


@event
class RoleAssigned(EventBase):
    """A held role (scribe, comms, lead) given to someone, or vacated with ``holder=None``.

    The IC role itself only moves by declaration, handoff or claim, never by assignment, so there
    is never a moment with two ICs. The hub may record this event itself when someone joins for a
    vacant seat.
    """

    type: Literal["role_assigned"] = "role_assigned"
    assigned_role: Role
    holder: str | None = None

    timeline_kind = "role"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if self.assigned_role not in HELD_ROLES:
            return refuse("invalid", f"{self.assigned_role} is not a role that can be assigned.")
        if self.assigned_role == Role.IC:
            return refuse(
                "forbidden", "The IC role moves only by handoff or claim, not by assignment."
            )
        if not state.is_ic(actor.name):
            return refuse("forbidden", "Only the incident commander assigns roles.")
        if self.holder is not None and self.holder not in state.participants:
            return refuse("unknown_participant", f"Nobody called {self.holder!r} has joined.")
        if self.holder is not None and state.is_observer(self.holder):
            return refuse(
                "forbidden", f"{self.holder} joined as an observer and cannot hold a role."
            )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        roles = dict(state.roles)
        if self.holder is None:
            roles.pop(self.assigned_role, None)
        else:
            roles[self.assigned_role] = RoleHolding(holder=self.holder, since=self.at)
        # An open handoff offer of this role was its old holder's to make; it ends here.
        ended = end_offer(state, self.assigned_role, OfferEnd.SUPERSEDED, self)
        return state.model_copy(update={"roles": roles, **ended})

    def describe(self) -> str:
        title = ROLE_TITLES[self.assigned_role]
        if self.holder is None:
            return f"{title} role vacated"
        return f"{self.holder} is now {title.lower()}"


class NoteKind(StrEnum):
    """What a timeline entry records, as the scribe types it."""

    NOTE = "note"
    FINDING = "finding"
    COMMAND = "command"
    DECISION_HEARD = "decision_heard"
    STATUS = "status"


@event
class NoteAdded(EventBase):
    """A line on the timeline: a note, a finding, a command someone ran, a decision heard."""

    type: Literal["note_added"] = "note_added"
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    kind: NoteKind = NoteKind.NOTE

    timeline_kind = "note"
    amendable = True
    retimable = True

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not self.text.strip():
            return refuse("invalid", "A note needs some text.")
        return None

    def amendable_text(self) -> str:
        return self.text

    def amended(self, text: str) -> NoteAdded:
        return self.model_copy(update={"text": text})

    def fold(self, state: IncidentState) -> IncidentState:
        return state.model_copy(update={"note_count": state.note_count + 1})

    def entry_kind(self) -> str:
        return self.kind.value

    def describe(self) -> str:
        prefix = {
            NoteKind.NOTE: "",
            NoteKind.FINDING: "Finding: ",
            NoteKind.COMMAND: "Ran: ",
            NoteKind.DECISION_HEARD: "Decision heard: ",
            NoteKind.STATUS: "Status: ",
        }[self.kind]
        return f"{prefix}{self.text}"
