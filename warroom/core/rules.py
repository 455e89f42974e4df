"""Whether a command is allowed: one pure function the hub enforces and the console consults.

The hub calls :func:`check_command` before storing anything; the console calls
:func:`may_send` to grey out what it knows the hub would refuse.
"""

from __future__ import annotations

from datetime import datetime

from warroom.core.events import EVENT_TYPES, Actor, EventBase, Refusal, refuse
from warroom.core.phases import Phase
from warroom.core.roles import Role
from warroom.core.state import IncidentState

#: Event types still accepted after an incident is closed: the IC may reopen it (a
#: ``phase_changed`` back, with a reason), and anyone may correct when the impact started, which
#: is often learned only in the review. Everything else is refused, so the record stays as it
#: ended and every late change is an explicit reopen on the timeline.
ALLOWED_WHEN_CLOSED: set[str] = {"phase_changed", "impact_start_set"}

#: What a guest (someone who entered with a join code) may never do, whatever it sends: take the
#: IC role or let anyone else in or out. Accepting or being offered the IC role is refused by the
#: handoff events themselves (they depend on the role offered).
GUEST_NEVER: set[str] = {"ic_claimed", "join_code_created", "join_code_revoked"}


def check_command(
    state: IncidentState, command: EventBase, actor: Actor, now: datetime
) -> Refusal | None:
    """``None`` if ``actor`` may record ``command`` on an incident in ``state`` at ``now``."""
    if command.hub_only:
        return refuse("hub_only", f"'{command.type}' events are recorded by the hub itself.")
    if command.type == "incident_declared":
        return command.check(state, actor, now)
    if not state.declared:
        return refuse("unknown_incident", f"No incident {command.incident_id!r} on this hub.")
    if actor.name not in state.participants:
        return refuse("not_joined", "Join the incident before acting in it.")
    if state.is_observer(actor.name):
        return refuse("forbidden", "Observers can read everything but write nothing.")
    if command.type in GUEST_NEVER and state.is_guest(actor.name):
        return refuse("forbidden", f"A guest may not send '{command.type}'.")
    if state.phase == Phase.CLOSED and command.type not in ALLOWED_WHEN_CLOSED:
        return refuse(
            "closed",
            "This incident is closed; the IC can reopen it by moving it back, with a reason.",
        )
    return command.check(state, actor, now)


def may_send(state: IncidentState, event_type: str, name: str, seat: Role = Role.RESPONDER) -> bool:
    """A cheap pre-check for the console: could ``name`` send any ``event_type`` at all?

    It checks the type-wide rules only (hub-only, observer, closed); the hub still decides.
    """
    cls = EVENT_TYPES.get(event_type)
    if cls is None or cls.hub_only:
        return False
    if seat == Role.OBSERVER and not state.roles_of(name):
        return False
    if state.is_observer(name):
        return False
    if event_type in GUEST_NEVER and state.is_guest(name):
        return False
    return not (state.phase == Phase.CLOSED and event_type not in ALLOWED_WHEN_CLOSED)
