"""What the folded state holds about handoffs: the briefing, pending offers, rotation hints.

These are plain frozen models with no rules, so :mod:`warroom.core.state` can hold them without
importing the events. The events that fill them live in :mod:`warroom.core.handoff`; the briefing
is assembled from the state by :mod:`warroom.core.briefing`.

A briefing is stored inside the offer that carries it, so the timeline keeps the briefing exactly
as it stood when the role was offered, whatever the assembly code does in later versions.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from warroom.core.phases import Phase
from warroom.core.roles import Role
from warroom.core.severity import Severity

if TYPE_CHECKING:
    from warroom.core.events import EventBase
    from warroom.core.state import IncidentState


class Section(StrEnum):
    """The parts of a briefing, in the order they are read out."""

    SITUATION = "situation"
    TRIAGE = "triage"
    ROLES = "roles"
    FACTS = "facts"
    GUESSES = "guesses"
    PRODUCTION = "production"
    DECISIONS = "decisions"
    FOLLOW_UPS = "follow_ups"
    COMMS = "comms"


SECTION_TITLES: dict[Section, str] = {
    Section.SITUATION: "Situation",
    Section.TRIAGE: "Triage scope",
    Section.ROLES: "Who holds what",
    Section.FACTS: "Confirmed facts",
    Section.GUESSES: "Open guesses",
    Section.PRODUCTION: "Production",
    Section.DECISIONS: "Last decisions",
    Section.FOLLOW_UPS: "Follow-ups",
    Section.COMMS: "Stakeholder updates",
}


class BriefLine(BaseModel):
    """One line of a briefing: a reference people say out loud, the text, who, and when."""

    model_config = ConfigDict(frozen=True)

    #: ``#12`` for a board card, ``D3`` for a decision, ``A1`` for a follow-up, a role title...
    ref: str = ""
    text: str
    #: The owner of a guess, the holder of a role, whoever carries a decision out.
    who: str = ""
    at: datetime | None = None


class Briefing(BaseModel):
    """What someone taking over a role needs to lead within a minute.

    ``sections`` lists what this briefing covers: the IC's briefing covers everything, the other
    roles get a shorter one, and a newcomer's read-in another cut. Fields of sections not covered
    are left empty. Nothing here depends on the clock, so the hub can check that a briefing sent
    with an offer is the one the state gives.
    """

    model_config = ConfigDict(frozen=True)

    role: Role = Role.IC
    sections: tuple[Section, ...] = ()
    title: str = ""
    severity: Severity = Severity.SEV3
    phase: Phase = Phase.DETECTED
    drill: bool = False
    detected_at: datetime | None = None
    declared_at: datetime | None = None
    #: When the incident entered its current phase, if the lifecycle records it.
    phase_since: datetime | None = None
    impact_started_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str = ""
    #: The automatic escalation, in words: when it is due, or that it is proposed.
    escalation: str = ""
    scope: str = ""
    symptoms: str = ""
    trigger: str = ""
    triage: tuple[BriefLine, ...] = ()
    roles: tuple[BriefLine, ...] = ()
    facts: tuple[BriefLine, ...] = ()
    guesses: tuple[BriefLine, ...] = ()
    lock_holder: str | None = None
    lock_since: datetime | None = None
    lock_queue: tuple[str, ...] = ()
    #: Production actions still running, then finished ones that did not help and await undo.
    actions: tuple[BriefLine, ...] = ()
    decisions: tuple[BriefLine, ...] = ()
    follow_ups: tuple[BriefLine, ...] = ()
    last_update_at: datetime | None = None
    next_update_due: datetime | None = None
    #: Each attached checklist with its progress (#19): ``C1 Roll back: 3/7``.
    checklists: str = ""

    def covers(self, section: Section) -> bool:
        return section in self.sections


class HandoffOffer(BaseModel):
    """A role offered by its holder to a named participant, waiting for an answer.

    Until the answer the holder keeps the role; the offer lapses at ``expires_at``.
    """

    model_config = ConfigDict(frozen=True)

    #: The id of the event that made the offer; answers name it.
    id: UUID
    seq: int = 0
    role: Role
    outgoing: str
    incoming: str
    notes: str = ""
    briefing: Briefing
    offered_at: datetime | None = None
    expires_at: datetime | None = None


class OfferEnd(StrEnum):
    """How an offer stopped being open."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"
    #: The role moved another way while the offer was open: an IC claim or an assignment.
    SUPERSEDED = "superseded"


class OfferEnding(BaseModel):
    """How an offer ended, folded from the event that ended it, so a screen that watched the
    offer can say what happened without reading the log again."""

    model_config = ConfigDict(frozen=True)

    offer: UUID
    role: Role
    how: OfferEnd
    outgoing: str
    incoming: str
    #: Who recorded the ending (the hub for a lapse).
    by: str = ""
    at: datetime | None = None
    #: The timeline line of the event that ended it, what the handoff screen shows.
    line: str = ""


def end_offer(state: IncidentState, role: Role, how: OfferEnd, event: EventBase) -> dict[str, Any]:
    """The state update that closes the open offer of ``role`` (if any) as ``how``: the offer
    leaves ``offers`` and its ending is kept in ``ended_offers`` under its id."""
    offer = state.offers.get(role)
    if offer is None:
        return {}
    ending = OfferEnding(
        offer=offer.id,
        role=role,
        how=how,
        outgoing=offer.outgoing,
        incoming=offer.incoming,
        by=event.actor,
        at=event.at,
        line=event.describe(),
    )
    return {
        "offers": {r: o for r, o in state.offers.items() if r != role},
        "ended_offers": {**state.ended_offers, offer.id: ending},
    }


class RotationHint(BaseModel):
    """The hub's note that a holder has been in a role long enough to hand it off.

    It names the holding it is about (holder and since), so it stops applying by itself as soon
    as the role moves, without any other event having to clear it.
    """

    model_config = ConfigDict(frozen=True)

    holder: str
    since: datetime | None = None
    at: datetime | None = None
