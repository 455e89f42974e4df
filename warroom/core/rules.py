"""Whether a command is allowed: one pure function the hub enforces and the console consults.

The hub calls :func:`check_command` before storing anything; the console asks the same function
through :func:`warroom.core.affordances.affordances`, so what it offers is what the hub accepts.
"""

from __future__ import annotations

from datetime import datetime

from warroom.core.corrections import check_noted_at
from warroom.core.events import EVENT_TYPES, Actor, EventBase, Refusal, refuse
from warroom.core.phases import Phase
from warroom.core.state import IncidentState

#: Event types still accepted after an incident is closed: the IC may reopen it (a
#: ``phase_changed`` back, with a reason), and anyone may correct when the impact started, which
#: is often learned only in the review, and the scribe, the IC or an entry's author may put the
#: record right (amend or retime an entry, with a reason). Everything else is refused, so the
#: record stays as it ended and every late change is an explicit reopen on the timeline.
ALLOWED_WHEN_CLOSED: set[str] = {
    "phase_changed",
    "impact_start_set",
    # Putting the record right (a wrong number, when something really happened) is what a
    # review finds; each correction is an event with its reason, so nothing is rewritten.
    "entry_amended",
    "entry_retimed",
    # A status page link is revocable after the close too (#21).
    "page_link_revoked",
    # A secret found in the review must still be removable from the record (#23).
    "entry_redacted",
}

#: What a guest (someone who entered with a join code) may never do, whatever it sends: take the
#: IC role or let anyone else in or out. Accepting or being offered the IC role is refused by the
#: handoff events themselves (they depend on the role offered).
GUEST_NEVER: set[str] = {"ic_claimed", "join_code_created", "join_code_revoked"}


def standing(state: IncidentState, event_type: str, actor: Actor) -> Refusal | None:
    """The rules that hold for every command of ``event_type``, whatever its payload: ``None``
    if ``actor`` may send that type at all on an incident in ``state``."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        return refuse("invalid", f"Unknown event type {event_type!r}.")
    if cls.hub_only:
        return refuse("hub_only", f"'{event_type}' events are recorded by the hub itself.")
    if event_type == "incident_declared":
        return None
    if not state.declared:
        return refuse("unknown_incident", f"No incident {state.incident_id!r} on this hub.")
    if actor.name not in state.participants:
        return refuse("not_joined", "Join the incident before acting in it.")
    if state.is_observer(actor.name):
        return refuse("forbidden", "Observers can read everything but write nothing.")
    if event_type in GUEST_NEVER and state.is_guest(actor.name):
        return refuse("forbidden", f"A guest may not send '{event_type}'.")
    if state.phase == Phase.CLOSED and event_type not in ALLOWED_WHEN_CLOSED:
        return refuse(
            "closed",
            "This incident is closed; the IC can reopen it by moving it back, with a reason.",
        )
    return None


def check_command(
    state: IncidentState, command: EventBase, actor: Actor, now: datetime
) -> Refusal | None:
    """``None`` if ``actor`` may record ``command`` on an incident in ``state`` at ``now``."""
    if command.hub_only:
        return refuse("hub_only", f"'{command.type}' events are recorded by the hub itself.")
    if command.type != "incident_declared" and not state.declared:
        return refuse("unknown_incident", f"No incident {command.incident_id!r} on this hub.")
    return (
        standing(state, command.type, actor)
        or check_noted_at(command, now, state.last_event_at)
        or command.check(state, actor, now)
    )
