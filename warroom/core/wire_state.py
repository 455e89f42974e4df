"""The folded state on the wire: its JSON form, its JSON Schema, and its deadlines.

The JSON form is ``IncidentState.model_dump(mode="json")``: times are ISO 8601 strings in UTC,
durations ISO 8601 durations (``PT10M``), enums their values, and maps keyed by a role, a number
or an id have string keys (``"ic"``, ``"12"``, a UUID). :func:`state_from_json` reads it back to
an equal state, which is what lets a console start from a ``snapshot`` instead of replaying the
whole log. The schema is generated from the same models (``docs/state.schema.json``).
"""

from __future__ import annotations

import json
from typing import Any

from warroom.core.cadence import QUIET_PHASES, next_update_due
from warroom.core.deadlines import Deadlines
from warroom.core.handoff import rotation_after, rotation_suggested
from warroom.core.lifecycle import escalation_deadline, open_escalation
from warroom.core.phases import Phase
from warroom.core.roles import HELD_ROLES
from warroom.core.state import IncidentState

#: Where the schema is published in the repository, and the ``$id`` it carries.
SCHEMA_TITLE = "warroom incident state (protocol 2)"


def state_json(state: IncidentState) -> dict[str, Any]:
    """The state as JSON-ready data, exactly as a ``snapshot`` frame carries it."""
    return state.model_dump(mode="json")


def state_from_json(data: dict[str, Any] | str | bytes) -> IncidentState:
    """The state a ``snapshot`` carried (computed fields such as ``deadlines`` are ignored)."""
    if isinstance(data, str | bytes):
        return IncidentState.model_validate_json(data)
    return IncidentState.model_validate(data)


def state_schema() -> dict[str, Any]:
    """The JSON Schema of the state as it is sent (serialisation mode: with ``deadlines``)."""
    schema = IncidentState.model_json_schema(mode="serialization")
    schema["title"] = SCHEMA_TITLE
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def schema_text() -> str:
    """The schema as written to ``docs/state.schema.json`` (stable key order, newline at end)."""
    return json.dumps(state_schema(), indent=2, sort_keys=True) + "\n"


def deadlines_of(state: IncidentState) -> Deadlines:
    """Each deadline the hub's timers will act on, from the same rules the timers use."""
    if not state.declared:
        return Deadlines()
    escalation = escalation_deadline(state)
    if escalation is not None and (
        open_escalation(state) is not None
        or any(past.due_at == escalation for past in state.escalations)
    ):
        escalation = None
    live = state.phase != Phase.CLOSED
    lock = state.lock
    rotation = {}
    if state.phase not in QUIET_PHASES:
        for role in HELD_ROLES:
            after = rotation_after(state, role)
            holding = state.roles.get(role)
            if after is None or holding is None or holding.since is None:
                continue
            if not rotation_suggested(state, role):
                rotation[role] = holding.since + after
    return Deadlines(
        next_update_due=next_update_due(state),
        escalation_due=escalation,
        lock_expires_at=lock.expires_at if live and lock.holder is not None else None,
        offers_expire={
            role: offer.expires_at
            for role, offer in state.offers.items()
            if live and offer.expires_at is not None
        },
        rotation_due=rotation,
    )


if __name__ == "__main__":  # python -m warroom.core.wire_state docs/state.schema.json
    import sys
    from pathlib import Path

    import warroom.core.log  # noqa: F401  (every event type registered, as the hub has them)

    Path(sys.argv[1]).write_text(schema_text(), encoding="utf-8")
    print(f"wrote {sys.argv[1]}")
