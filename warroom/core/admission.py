"""Admission: who may come into an incident, in which seat, and what their arrival records.

The hub knows the transport facts (which connections are open, what credential each presented);
these functions decide the policy from the incident's state and those facts, and return either a
refusal or the events to record. The hub writes an arrival's events in one batch and calls the
same function again at write time, against the state as it is then: of two people asking for one
vacant seat at the same moment, exactly one is given it and the other is told who took it.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.core.access import GuestAdmitted, JoinCode, check_guest
from warroom.core.events import EventBase, Refusal, refuse
from warroom.core.incident import ParticipantJoined, ParticipantLeft, RoleAssigned
from warroom.core.names import confusable_with
from warroom.core.roles import HELD_ROLES, Role
from warroom.core.state import IncidentState


@dataclass(frozen=True)
class Entrant:
    """Someone asking to come in, as their credential proves them.

    A ``guest`` entered with the join code ``code_id`` of the incident ``code_incident``;
    ``proven`` is true when a personal token proved the name.
    """

    name: str
    seat: Role
    guest: bool = False
    code_id: str = ""
    code_incident: str = ""
    proven: bool = False


@dataclass(frozen=True)
class Admission:
    """The events the hub writes for a decision (in one batch, all or none), and what the
    person is told. ``notice`` is not a refusal: they come in regardless (as a responder when
    the seat they asked for is held by someone else).
    """

    events: tuple[EventBase, ...]
    notice: Refusal | None = None


def live_code(state: IncidentState, code_id: str) -> JoinCode | None:
    """The join code ``code_id`` if it still stands in this incident."""
    code = state.access.codes.get(code_id)
    return None if code is None or code.revoked else code


def guest_seat_refusal(state: IncidentState, code_id: str, seat: Role) -> Refusal | None:
    """Why a guest may not say hello in ``seat`` with code ``code_id``, or None."""
    code = live_code(state, code_id)
    if code is None:
        return refuse("forbidden", "Your join code was revoked.")
    if not code.allows_seat(seat):
        return refuse("forbidden", f"Your join code does not let you in as {seat}.")
    return None


def join_refusal(
    state: IncidentState, entrant: Entrant, *, rejoining: bool = False
) -> Refusal | None:
    """Why ``entrant`` may not join this incident, or None.

    A guest comes only into the incident their live code is for, under a name that passes for
    nobody in it. Anyone else not proven by a personal token may not look like someone already
    in (a name proven by a token is never kept out by a look-alike that got in first).
    ``rejoining``: the connection is already in this incident, so its name was checked then.
    """
    if entrant.guest:
        if state.incident_id != entrant.code_incident:
            return refuse("forbidden", f"Your join code is for {entrant.code_incident} only.")
        code = live_code(state, entrant.code_id)
        if code is None:
            return refuse("forbidden", "Your join code was revoked.")
        refusal = check_guest(state, code, entrant.name, entrant.seat)
        if refusal is not None:
            return refusal
    if rejoining or entrant.proven:
        return None
    lookalike = lookalike_in(state, entrant.name, entrant.guest)
    if lookalike is not None:
        return refuse(
            "bad_name",
            f"{entrant.name!r} looks like {lookalike!r}, who is in this incident; "
            "join under another name.",
        )
    return None


def lookalike_in(state: IncidentState, name: str, guest: bool) -> str | None:
    """A name in the incident that looks like ``name`` without being it.

    A team member is compared with the other members only (guests are marked, and a guest must
    never keep a member out); a guest with everyone.
    """
    if name in state.participants:
        return None  # the same person again, checked when they first joined
    others = (p for p in state.participants if guest or not state.is_guest(p))
    return confusable_with(name, others)


def arrival(state: IncidentState, entrant: Entrant) -> Admission:
    """The events recording ``entrant``'s first connection: a guest's admission (once per
    code), their presence, and the seat they asked for if it is held by nobody.

    Someone who asks for a vacant held seat (scribe, comms, lead, or IC when nobody leads) takes
    it; a seat held by someone else leaves them a responder until the IC assigns it, and they
    are told so. ``participant_joined.seat`` is the seat actually taken (``responder`` then), so
    a client reading the event never shows them in a seat they do not have.
    """
    events: list[EventBase] = []
    if entrant.guest and state.access.guests.get(entrant.name) != entrant.code_id:
        events.append(GuestAdmitted(name=entrant.name, code_id=entrant.code_id))
    holder = state.holder(entrant.seat) if entrant.seat in HELD_ROLES else None
    taken = holder is not None and holder != entrant.name
    seat = Role.RESPONDER if taken else entrant.seat
    events.append(ParticipantJoined(name=entrant.name, seat=seat))
    notice = None
    if entrant.seat in HELD_ROLES:
        if holder is None:
            events.append(RoleAssigned(assigned_role=entrant.seat, holder=entrant.name))
        elif taken:
            notice = seat_taken(entrant.seat, holder)
    return Admission(tuple(events), notice)


def seat_taken(seat: Role, holder: str | None) -> Refusal:
    """Told to someone who asked for a held seat that someone else holds."""
    who = holder or "someone else"
    return refuse(
        "seat_taken",
        f"The {seat} seat is held by {who}; you joined as a responder. "
        "Ask the IC to assign it to you.",
    )


def departure(state: IncidentState, name: str) -> Admission:
    """The events recording that ``name``'s last connection to the incident closed."""
    return Admission((ParticipantLeft(name=name),))


def presence_repair(state: IncidentState, name: str, seat: Role, connected: bool) -> Admission:
    """What makes the incident show ``name`` online exactly when they are ``connected``
    (nothing when it already does): after a hub restart, or after writes that failed."""
    shown = name in state.participants and state.participants[name].online
    if connected == shown:
        return Admission(())
    if connected:
        # Someone seen before keeps the seat they took then (not the one they asked for).
        known = state.participants.get(name)
        return Admission((ParticipantJoined(name=name, seat=known.seat if known else seat),))
    return Admission((ParticipantLeft(name=name),))
