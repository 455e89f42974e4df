"""Who a participant is in the room, and what each seat may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A seat in the war room. The first four are held by one person at a time."""

    IC = "ic"
    SCRIBE = "scribe"
    COMMS = "comms"
    LEAD = "lead"
    RESPONDER = "responder"
    OBSERVER = "observer"
    HUB = "hub"


#: Roles that exactly one participant holds at a time (or nobody).
HELD_ROLES: tuple[Role, ...] = (Role.IC, Role.LEAD, Role.COMMS, Role.SCRIBE)

#: Roles a person may ask for when joining.
JOINABLE_ROLES: tuple[Role, ...] = (
    Role.IC,
    Role.SCRIBE,
    Role.COMMS,
    Role.LEAD,
    Role.RESPONDER,
    Role.OBSERVER,
)

ROLE_TITLES: dict[Role, str] = {
    Role.IC: "Incident commander",
    Role.SCRIBE: "Scribe",
    Role.COMMS: "Comms lead",
    Role.LEAD: "Technical lead",
    Role.RESPONDER: "Responder",
    Role.OBSERVER: "Observer",
    Role.HUB: "warroom hub",
}

#: The actor name the hub uses for events it records itself (timers, expiries).
HUB_ACTOR = "warroom"
