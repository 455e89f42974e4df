"""Time-driven rules: events the hub records by itself when a deadline passes.

Each feature registers a function ``(state, now) -> list[EventBase]`` that returns the events due
at ``now`` (for example an escalation or a lease expiry). The hub calls :func:`due` with its own,
injectable clock; because the returned events change the state, a timer that has fired is not due
again, so the rules fire once even across hub restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from warroom.core.events import EventBase
from warroom.core.state import IncidentState

Timer = Callable[[IncidentState, datetime], list[EventBase]]

TIMERS: list[Timer] = []


def timer(fn: Timer) -> Timer:
    """Register a time-driven rule."""
    TIMERS.append(fn)
    return fn


def due(state: IncidentState, now: datetime) -> list[EventBase]:
    """Every event the registered timers say is due for ``state`` at ``now``.

    Event drafts carry ids derived from the state so that the same deadline yields the same id.
    """
    if not state.declared:
        return []
    out: list[EventBase] = []
    for fn in TIMERS:
        out.extend(fn(state, now))
    return out


def due_from(fn: Timer, state: IncidentState, now: datetime) -> list[EventBase]:
    """The events one timer says are due (the hub asks each on its own, so that one whose
    event is refused never holds up the others)."""
    if not state.declared:
        return []
    return fn(state, now)
