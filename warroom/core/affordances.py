"""What a person may do now: each candidate command run through the rules the hub enforces.

The console never keeps its own idea of who may do what. A pane names the commands its keys
would send (with placeholders where a form would ask), and :func:`affordances` runs each one
through :func:`~warroom.core.rules.check_command`, the very function the hub calls before it
stores anything. What is allowed is offered; what is not carries the hub's own refusal, so a
greyed key says exactly what the hub would answer.

A candidate may also be a bare event type: then only the rules that hold for every command of
that type (hub-only, joined, observer, guest, closed: :func:`~warroom.core.rules.standing`) are
asked, for a key whose command is not known until a form is filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from warroom.core.events import EVENT_TYPES, Actor, EventBase, Refusal
from warroom.core.rules import check_command, standing
from warroom.core.state import IncidentState

#: A candidate: a command draft (asked in full) or an event class or its type tag (asked its
#: type-wide rules).
Candidate = EventBase | type[EventBase] | str

#: Said of a candidate that could not even be built as a command (a malformed placeholder).
UNBUILDABLE = Refusal(code="invalid", message="That command cannot be built here.")


def draft(state: IncidentState, kind: type[EventBase] | str, /, **payload: Any) -> EventBase | None:
    """The command of event class ``kind`` (or its type tag) with ``payload`` as a client would
    send it, or ``None`` if it does not match the event's schema. The hub's stamp (seq, at,
    actor, role) is left out."""
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else kind
    if cls is None:
        return None
    try:
        return cls(**{"incident_id": state.incident_id, **payload})
    except (ValidationError, ValueError, TypeError):
        return None


def type_tag(kind: type[EventBase] | str) -> str:
    """The ``type`` tag of an event class (a tag is returned as it is)."""
    if isinstance(kind, str):
        return kind
    tag = kind.model_fields["type"].default
    assert isinstance(tag, str)
    return tag


@dataclass(frozen=True)
class Affordances:
    """The answer for each candidate: ``None`` (allowed) or the hub's refusal."""

    refusals: dict[str, Refusal | None] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in self.refusals

    def allows(self, key: str) -> bool:
        """Whether the candidate ``key`` would be accepted (an unknown key is not)."""
        return key in self.refusals and self.refusals[key] is None

    def refusal(self, key: str) -> Refusal | None:
        """The hub's refusal of ``key``, or ``None`` if it is allowed or was not asked."""
        return self.refusals.get(key)

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(k for k, r in self.refusals.items() if r is None)


def judge(
    state: IncidentState, actor: Actor, now: datetime, candidate: Candidate
) -> Refusal | None:
    """One candidate through the hub's rules: the full check for a draft, the type-wide rules
    for a bare type."""
    if isinstance(candidate, (str, type)):
        return standing(state, type_tag(candidate), actor)
    return check_command(state, candidate, actor, now)


def affordances(
    state: IncidentState,
    actor: Actor,
    now: datetime,
    candidates: Mapping[str, Candidate | None],
) -> Affordances:
    """What ``actor`` may do on ``state`` at ``now``, for each named candidate command.

    A candidate given as ``None`` (its draft could not be built) is refused as unbuildable.
    """
    refusals: dict[str, Refusal | None] = {}
    for key, candidate in candidates.items():
        if candidate is None:
            refusals[key] = UNBUILDABLE
        else:
            refusals[key] = judge(state, actor, now, candidate)
    return Affordances(refusals)


def may(state: IncidentState, actor: Actor, now: datetime, candidate: Candidate) -> bool:
    """Whether one candidate would be accepted (see :func:`affordances`)."""
    return judge(state, actor, now, candidate) is None
