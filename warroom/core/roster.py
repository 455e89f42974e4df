"""The roster as data: each held role's holder, since when, online or not, and what is pending.

The roster pane renders these rows and nothing else, so what it says (a person holding two roles,
a role whose holder is offline, a handoff waiting for an answer, a rotation that is due) is
decided here, in one place, and tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.core.handoff import is_online, offer_to, rotation_suggested, time_in_role
from warroom.core.handoff_state import HandoffOffer
from warroom.core.roles import HELD_ROLES, ROLE_TITLES, Role
from warroom.core.state import IncidentState

#: How roles are named where space is short (the roster's "holds" column, the status bar).
SHORT_TITLES: dict[Role, str] = {
    Role.IC: "IC",
    Role.LEAD: "tech lead",
    Role.COMMS: "comms",
    Role.SCRIBE: "scribe",
}


@dataclass(frozen=True)
class RoleRow:
    """One held role on the roster."""

    role: Role
    holder: str | None
    since: datetime | None
    held_for: timedelta | None
    online: bool
    #: The holder's other held roles ("ana is IC and also scribe").
    also_holds: tuple[Role, ...]
    rotation_due: bool
    #: An open offer of this role, waiting for the incoming person's answer.
    offer: HandoffOffer | None

    @property
    def title(self) -> str:
        return ROLE_TITLES[self.role]

    @property
    def vacant(self) -> bool:
        return self.holder is None


@dataclass(frozen=True)
class PersonRow:
    """One participant on the roster."""

    name: str
    seat: Role
    online: bool
    roles: tuple[Role, ...]
    joined_at: datetime | None
    last_seen: datetime | None
    #: A role offered to this person and not answered yet.
    offered: Role | None


def holds_label(roles: Iterable[Role]) -> str:
    """``IC + scribe``: several roles held by one person, said plainly."""
    return " + ".join(SHORT_TITLES.get(r, ROLE_TITLES[r]) for r in roles)


def role_rows(state: IncidentState, now: datetime) -> list[RoleRow]:
    """Every held role, vacant ones too so the gap is visible, most senior first."""
    rows = []
    for role in HELD_ROLES:
        holding = state.roles.get(role)
        holder = holding.holder if holding else None
        rows.append(
            RoleRow(
                role=role,
                holder=holder,
                since=holding.since if holding else None,
                held_for=time_in_role(state, role, now),
                online=is_online(state, holder),
                also_holds=tuple(r for r in state.roles_of(holder) if r != role) if holder else (),
                rotation_due=rotation_suggested(state, role),
                offer=state.offers.get(role),
            )
        )
    return rows


def person_rows(state: IncidentState) -> list[PersonRow]:
    """Everyone who joined: online first, then by name."""
    rows = []
    for person in sorted(state.participants.values(), key=lambda p: (not p.online, p.name)):
        offer = offer_to(state, person.name)
        rows.append(
            PersonRow(
                name=person.name,
                seat=person.seat,
                online=person.online,
                roles=tuple(state.roles_of(person.name)),
                joined_at=person.joined_at,
                last_seen=person.last_seen,
                offered=offer.role if offer else None,
            )
        )
    return rows
