"""Handing a role over: offer, accept or decline, withdraw, lapse; claiming IC; rotation.

Leadership changes are where context gets lost and where, for a few minutes, two people think
they are in charge, or nobody is. So a held role moves only in one event: the holder offers it to
a named participant with a briefing and free notes, keeps it while the offer is open, and the role
passes when the incoming person accepts. A declined, withdrawn or lapsed offer changes nothing.
The hub orders everything through one writer, so of two answers to the same offer, or two
claims, exactly one takes effect and the other is refused with the reason.

A disconnect does not cancel an offer (a network blip must not undo a handoff); the offer lapses
at ``settings.handoff_ttl`` by a hub timer, and the outgoing holder stays in the role meanwhile.

The IC role is never assigned. It moves by handoff, or by claim when the room has no IC in it:
the role is vacant, or its holder is offline (declared by someone who then left, say).

After ``settings.ic_rotation`` in the role, the hub records a rotation suggestion for the IC; the
console shows it to the holder and on the roster.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from warroom.core.briefing import build_briefing
from warroom.core.events import Actor, EventBase, Refusal, event, refuse
from warroom.core.handoff_state import (
    Briefing,
    HandoffOffer,
    OfferEnd,
    RotationHint,
    end_offer,
)
from warroom.core.phases import Phase
from warroom.core.roles import HELD_ROLES, ROLE_TITLES, Role
from warroom.core.settings import HubSettings
from warroom.core.state import IncidentState, RoleHolding
from warroom.core.timers import timer

#: Namespace of the ids of hub-recorded handoff events (uuid5 of incident, purpose, subject).
HANDOFF_NAMESPACE = uuid.UUID("2b8f6a0e-9d41-4c3b-8e27-5a1f0c9d7e63")

MAX_NOTES = 4000
MAX_REASON = 500

#: Phases in which nobody is asked to rotate any more.
QUIET_PHASES: frozenset[Phase] = frozenset({Phase.RESOLVED, Phase.CLOSED})


# --- queries the events, the hub timers and the console share ---------------------------------
def title_of(role: Role) -> str:
    """``incident commander``, ``scribe``: the role as it reads inside a sentence."""
    return ROLE_TITLES[role].lower()


def is_online(state: IncidentState, name: str | None) -> bool:
    person = state.participants.get(name) if name else None
    return person is not None and person.online


def offer_to(state: IncidentState, name: str) -> HandoffOffer | None:
    """The open offer made to ``name``, the IC's first (what their handoff screen shows)."""
    for role in HELD_ROLES:
        offer = state.offers.get(role)
        if offer is not None and offer.incoming == name:
            return offer
    return None


def offer_by(state: IncidentState, name: str, role: Role = Role.IC) -> HandoffOffer | None:
    """The open offer ``name`` made for ``role``."""
    offer = state.offers.get(role)
    return offer if offer is not None and offer.outgoing == name else None


def find_offer(state: IncidentState, offer_id: UUID) -> HandoffOffer | None:
    return next((o for o in state.offers.values() if o.id == offer_id), None)


def ic_absent(state: IncidentState) -> bool:
    """Whether the room has no IC in it: the role is vacant or its holder is offline."""
    return state.ic is None or not is_online(state, state.ic)


def may_claim_ic(state: IncidentState, name: str) -> bool:
    """Whether the console should offer ``name`` the claim (the hub decides anyway)."""
    return ic_absent(state) and state.ic != name and not state.is_observer(name)


def time_in_role(state: IncidentState, role: Role, now: datetime) -> timedelta | None:
    holding = state.roles.get(role)
    if holding is None or holding.since is None:
        return None
    return max(now - holding.since, timedelta(0))


def rotation_after(state: IncidentState, role: Role) -> timedelta | None:
    """How long someone holds ``role`` before a handoff is suggested (IC only for now)."""
    return state.settings.ic_rotation if role == Role.IC else None


def rotation_suggested(state: IncidentState, role: Role = Role.IC) -> bool:
    """Whether the hub has suggested that the current holder of ``role`` hand it off."""
    hint = state.rotation.get(role)
    holding = state.roles.get(role)
    return (
        hint is not None
        and holding is not None
        and hint.holder == holding.holder
        and hint.since == holding.since
    )


def briefing_summary(briefing: Briefing | None) -> str:
    """`` (briefing: 2 facts, 1 open guess, 1 decision)``: says on the timeline what was handed."""
    if briefing is None:
        return ""
    counts = [
        (len([f for f in briefing.facts if f.ref != "…"]), "fact", "facts"),
        (len([g for g in briefing.guesses if g.ref != "…"]), "open guess", "open guesses"),
        (len(briefing.decisions), "decision", "decisions"),
        (len(briefing.actions), "production action", "production actions"),
    ]
    parts = [f"{n} {one if n == 1 else many}" for n, one, many in counts if n]
    return f" (briefing: {', '.join(parts) or 'nothing on the board yet'})"


def _answer_refusal(
    state: IncidentState, offer_id: UUID, role: Role, outgoing: str, incoming: str
) -> HandoffOffer | Refusal:
    """The open offer an answer names, or why the answer comes too late or names it wrongly."""
    offer = state.offers.get(role)
    if offer is None or offer.id != offer_id:
        return refuse(
            "no_offer",
            f"That offer of {title_of(role)} is no longer open (accepted, declined, withdrawn "
            "or lapsed).",
        )
    if offer.outgoing != outgoing or offer.incoming != incoming:
        return refuse(
            "invalid",
            f"That offer is from {offer.outgoing} to {offer.incoming}, not from {outgoing} to "
            f"{incoming}.",
        )
    return offer


# --- events -----------------------------------------------------------------------------------
class HandoffEvent(EventBase):
    """Shared by the handoff events: their kind on the timeline."""

    timeline_kind = "role"


@event
class HandoffOffered(HandoffEvent):
    """The holder of a role offers it to a named participant, with a briefing and notes.

    ``briefing`` is what the outgoing holder saw; the hub refuses it unless it is the briefing
    its own state gives, so the timeline never keeps a briefing that was not true. Left out, the
    hub stores the one its state gives. ``expires_at`` is filled by the hub (``at`` plus the
    incident's ``handoff_ttl``), so a client reads the offer's briefing and deadline from the
    event itself. (Records made before the hub filled them fold the same: the fold assembles
    both when absent.)
    """

    type: Literal["handoff_offered"] = "handoff_offered"
    offered_role: Role
    to: str = Field(min_length=1, max_length=60)
    notes: str = Field(default="", max_length=MAX_NOTES)
    briefing: Briefing | None = None
    #: When the offer lapses; stamped by the hub, anything a client sends here is replaced.
    expires_at: datetime | None = None
    hub_filled: ClassVar[frozenset[str]] = frozenset({"expires_at"})

    def hub_fill(self, settings: HubSettings, state: IncidentState | None = None) -> HandoffOffered:
        if state is None:
            return self
        briefing = self.briefing or build_briefing(state, self.offered_role)
        expires = self.at + state.settings.handoff_ttl if self.at else None
        return self.model_copy(update={"briefing": briefing, "expires_at": expires})

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        role = self.offered_role
        if role not in HELD_ROLES:
            return refuse("invalid", f"{role} is not a role that is handed over.")
        holder = state.holder(role)
        if holder != actor.name:
            who = f"{holder} holds it" if holder else "nobody holds it"
            return refuse("forbidden", f"Only the {title_of(role)} can hand it over ({who}).")
        if self.to == actor.name:
            return refuse("invalid", f"You already are the {title_of(role)}.")
        if self.to not in state.participants:
            return refuse("unknown_participant", f"Nobody called {self.to!r} has joined.")
        if state.is_observer(self.to):
            return refuse("forbidden", f"{self.to} joined as an observer and cannot hold a role.")
        if role == Role.IC and state.is_guest(self.to):
            return refuse("forbidden", f"{self.to} is a guest; a guest cannot be the IC.")
        if not is_online(state, self.to):
            return refuse("offline", f"{self.to} is offline and could not accept now.")
        pending = state.offers.get(role)
        if pending is not None:
            return refuse(
                "offer_pending",
                f"You already offered {title_of(role)} to {pending.incoming}; withdraw that "
                "offer first.",
            )
        if self.briefing is not None and self.briefing != build_briefing(state, role):
            return refuse(
                "briefing_stale",
                "The incident changed while the briefing was open; look at it again and offer.",
            )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        role = self.offered_role
        offers = dict(state.offers)
        offers[role] = HandoffOffer(
            id=self.id,
            seq=self.seq,
            role=role,
            outgoing=self.actor,
            incoming=self.to,
            notes=self.notes.strip(),
            briefing=self.briefing or build_briefing(state, role),
            offered_at=self.at,
            expires_at=self.at + state.settings.handoff_ttl if self.at else None,
        )
        return state.model_copy(update={"offers": offers})

    def describe(self) -> str:
        notes = f"; notes: {self.notes.strip()[:80]}" if self.notes.strip() else ""
        line = f"{self.actor} offered the {title_of(self.offered_role)} role to {self.to}{notes}"
        return line + briefing_summary(self.briefing)


class HandoffAnswer(HandoffEvent):
    """Fields shared by everything that closes an offer: which offer, and who it was between.

    The names are echoed so the timeline line reads on its own; the hub checks them.
    """

    offer: UUID
    offered_role: Role
    outgoing: str = Field(min_length=1)
    incoming: str = Field(min_length=1)

    #: How an answer of this type ends the offer.
    ends_as: ClassVar[OfferEnd] = OfferEnd.DECLINED

    def _open(self, state: IncidentState) -> HandoffOffer | Refusal:
        return _answer_refusal(state, self.offer, self.offered_role, self.outgoing, self.incoming)

    def fold(self, state: IncidentState) -> IncidentState:
        offer = state.offers.get(self.offered_role)
        if offer is None or offer.id != self.offer:
            return state
        return state.model_copy(update=end_offer(state, self.offered_role, self.ends_as, self))


@event
class HandoffAccepted(HandoffAnswer):
    """The incoming participant accepts: the role moves to them in this one event."""

    type: Literal["handoff_accepted"] = "handoff_accepted"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        offer = self._open(state)
        if isinstance(offer, Refusal):
            return offer
        if actor.name != offer.incoming:
            return refuse("forbidden", f"This offer was made to {offer.incoming}, not to you.")
        if offer.role == Role.IC and state.is_guest(actor.name):
            return refuse("forbidden", "A guest cannot be the incident commander.")
        if state.holder(offer.role) != offer.outgoing:
            return refuse(
                "offer_stale",
                f"{offer.outgoing} no longer holds the {title_of(offer.role)} role; the offer "
                "cannot be accepted.",
            )
        if offer.expires_at is not None and now >= offer.expires_at:
            return refuse("offer_expired", "The offer has lapsed; ask for it again.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        offer = state.offers.get(self.offered_role)
        if offer is None or offer.id != self.offer:
            return state
        roles = dict(state.roles)
        roles[offer.role] = RoleHolding(holder=self.actor, since=self.at)
        ended = end_offer(state, offer.role, OfferEnd.ACCEPTED, self)
        return state.model_copy(update={"roles": roles, **ended})

    def describe(self) -> str:
        return (
            f"{self.incoming} accepted the {title_of(self.offered_role)} role from "
            f"{self.outgoing} and holds it now"
        )


@event
class HandoffDeclined(HandoffAnswer):
    """The incoming participant declines; the outgoing holder keeps the role."""

    type: Literal["handoff_declined"] = "handoff_declined"
    reason: str = Field(default="", max_length=MAX_REASON)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        offer = self._open(state)
        if isinstance(offer, Refusal):
            return offer
        if actor.name != offer.incoming:
            return refuse("forbidden", f"This offer was made to {offer.incoming}, not to you.")
        return None

    def describe(self) -> str:
        why = f": {self.reason.strip()}" if self.reason.strip() else ""
        return (
            f"{self.incoming} declined the {title_of(self.offered_role)} role; "
            f"{self.outgoing} keeps it{why}"
        )


@event
class HandoffWithdrawn(HandoffAnswer):
    """The outgoing holder takes the offer back and keeps the role."""

    type: Literal["handoff_withdrawn"] = "handoff_withdrawn"
    ends_as = OfferEnd.WITHDRAWN

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        offer = self._open(state)
        if isinstance(offer, Refusal):
            return offer
        if actor.name != offer.outgoing:
            return refuse(
                "forbidden", f"Only {offer.outgoing}, who made the offer, can withdraw it."
            )
        return None

    def describe(self) -> str:
        return (
            f"{self.outgoing} withdrew the offer of {title_of(self.offered_role)} to "
            f"{self.incoming} and keeps the role"
        )


@event
class HandoffExpired(HandoffAnswer):
    """Recorded by the hub when an offer reaches its deadline unanswered."""

    type: Literal["handoff_expired"] = "handoff_expired"
    ends_as = OfferEnd.LAPSED

    hub_only = True

    def describe(self) -> str:
        return (
            f"The offer of {title_of(self.offered_role)} to {self.incoming} lapsed unanswered; "
            f"{self.outgoing} keeps the role"
        )


@event
class IcClaimed(HandoffEvent):
    """A participant takes the IC role when the room has no IC in it.

    ``previous`` is the IC the claimer saw (``null`` for none): of two claims sent at once, the
    first takes the role and the second no longer matches, so it is refused.
    """

    type: Literal["ic_claimed"] = "ic_claimed"
    previous: str | None
    reason: str = Field(default="", max_length=MAX_REASON)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if state.is_guest(actor.name):
            return refuse("forbidden", "A guest cannot claim the incident commander role.")
        current = state.ic
        if current == actor.name:
            return refuse("already_ic", "You already are the incident commander.")
        if current != self.previous:
            now_ic = f"{current} is IC now" if current else "the role is vacant now"
            return refuse(
                "ic_changed",
                f"The incident commander changed since you looked ({now_ic}); nothing was done.",
            )
        if current is not None and is_online(state, current):
            return refuse(
                "ic_present",
                f"{current} is the incident commander and is online; ask them to hand over.",
            )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        roles = dict(state.roles)
        roles[Role.IC] = RoleHolding(holder=self.actor, since=self.at)
        ended = end_offer(state, Role.IC, OfferEnd.SUPERSEDED, self)
        return state.model_copy(update={"roles": roles, **ended})

    def describe(self) -> str:
        was = f" ({self.previous} was offline)" if self.previous else " (the role was vacant)"
        why = f": {self.reason.strip()}" if self.reason.strip() else ""
        return f"{self.actor} claimed the incident commander role{was}{why}"


@event
class RotationDue(HandoffEvent):
    """Recorded by the hub when someone has held a role long enough to hand it off."""

    type: Literal["rotation_due"] = "rotation_due"
    rotated_role: Role
    holder: str
    since: datetime | None = None
    after: timedelta

    hub_only = True

    def fold(self, state: IncidentState) -> IncidentState:
        rotation = dict(state.rotation)
        rotation[self.rotated_role] = RotationHint(holder=self.holder, since=self.since, at=self.at)
        return state.model_copy(update={"rotation": rotation})

    def describe(self) -> str:
        hours = self.after.total_seconds() / 3600
        held = f"{hours:g}h" if hours >= 1 else f"{int(self.after.total_seconds() // 60)}m"
        return (
            f"{self.holder} has been {title_of(self.rotated_role)} for {held}: time to hand it "
            "over to someone fresh"
        )


# --- timers -----------------------------------------------------------------------------------
def expiry_id(incident_id: str, offer_id: UUID) -> UUID:
    """The id of the lapse of one offer: the same on every hub start, so it fires once."""
    return uuid.uuid5(HANDOFF_NAMESPACE, f"{incident_id}:handoff-expired:{offer_id}")


def rotation_id(incident_id: str, role: Role, holding: RoleHolding) -> UUID:
    since = holding.since.isoformat() if holding.since else "-"
    return uuid.uuid5(HANDOFF_NAMESPACE, f"{incident_id}:rotation:{role}:{holding.holder}:{since}")


@timer
def offer_expiry(state: IncidentState, now: datetime) -> list[EventBase]:
    """Every open offer whose deadline has passed by the hub's clock."""
    if state.phase == Phase.CLOSED:
        return []
    return [
        HandoffExpired(
            id=expiry_id(state.incident_id, offer.id),
            incident_id=state.incident_id,
            offer=offer.id,
            offered_role=offer.role,
            outgoing=offer.outgoing,
            incoming=offer.incoming,
        )
        for offer in state.offers.values()
        if offer.expires_at is not None and now >= offer.expires_at
    ]


@timer
def rotation_reminder(state: IncidentState, now: datetime) -> list[EventBase]:
    """A suggestion to hand off, once per holding, when it has lasted its rotation time."""
    if state.phase in QUIET_PHASES:
        return []
    out: list[EventBase] = []
    for role in HELD_ROLES:
        after = rotation_after(state, role)
        holding = state.roles.get(role)
        if after is None or holding is None or holding.since is None:
            continue
        if now - holding.since < after or rotation_suggested(state, role):
            continue
        out.append(
            RotationDue(
                id=rotation_id(state.incident_id, role, holding),
                incident_id=state.incident_id,
                rotated_role=role,
                holder=holding.holder,
                since=holding.since,
                after=after,
            )
        )
    return out
