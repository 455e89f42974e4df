"""The one fold: ``state = apply(state, event)``, shared by hub and console."""

from __future__ import annotations

from collections.abc import Iterable

from warroom.core.events import EventBase
from warroom.core.state import IncidentState


class FoldError(ValueError):
    """An event that cannot follow the state (wrong incident, or a gap or repeat in ``seq``)."""


def apply(state: IncidentState, event: EventBase) -> IncidentState:
    """Return the state after ``event``. Pure: ``state`` is left as it was.

    Events must arrive in ``seq`` order without gaps; that is what makes every console's state
    equal to the hub's.
    """
    if event.seq != state.seq + 1:
        raise FoldError(f"event seq {event.seq} cannot follow seq {state.seq}")
    if state.incident_id and event.incident_id != state.incident_id:
        raise FoldError(f"event of {event.incident_id} folded into {state.incident_id}")
    after = event.fold(state)
    stamp = {"seq": event.seq, "incident_id": event.incident_id, "last_event_at": event.at}
    if after is state:  # an event that changes nothing else
        return state.model_copy(update=stamp)
    # The event's own fold returned a copy that nothing else holds yet: it is stamped in place
    # rather than copied a second time (a tenth of an export's time went to that copy; issue
    # 24). This is what ``model_copy(update=...)`` does to its copy; the state stays frozen to
    # everyone else.
    after.__dict__.update(stamp)
    after.__pydantic_fields_set__.update(stamp)
    return after


def replay(events: Iterable[EventBase], state: IncidentState | None = None) -> IncidentState:
    """Fold a whole log from scratch (or onto ``state``)."""
    current = state or IncidentState()
    for event in events:
        current = apply(current, event)
    return current
