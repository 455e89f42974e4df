"""A room of people for the board and decision tests, acting through the same rules as the hub.

``act`` checks a command with :func:`check_command` and folds it stamped as the hub would, so a
test reads like the incident it describes; ``refusal`` returns the code the hub would answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.helpers import T0, make_event
from warroom.core.events import Actor
from warroom.core.fold import apply, replay
from warroom.core.log import parse_event
from warroom.core.rules import check_command
from warroom.core.state import IncidentState

NOW = T0 + timedelta(minutes=20)


def room() -> IncidentState:
    """ana is IC, dee the technical lead, bo and cy responders, olly an observer."""
    return replay(
        [
            make_event(
                "incident_declared",
                1,
                title="Checkout errors after deploy",
                severity="SEV2",
                symptoms="5xx on /pay",
            ),
            make_event("participant_joined", 2, name="ana", seat="ic"),
            make_event(
                "participant_joined", 3, actor="bo", role="responder", name="bo", seat="responder"
            ),
            make_event(
                "participant_joined", 4, actor="cy", role="responder", name="cy", seat="responder"
            ),
            make_event("participant_joined", 5, actor="dee", role="lead", name="dee", seat="lead"),
            make_event("role_assigned", 6, assigned_role="lead", holder="dee"),
            make_event(
                "participant_joined", 7, actor="olly", role="observer", name="olly", seat="observer"
            ),
        ]
    )


def _draft(type_: str, payload: dict[str, Any]):
    data = {"type": type_, "id": str(uuid.uuid4()), "incident_id": "inc-test"}
    data.update(payload)
    return parse_event(data)


def _actor(state: IncidentState, who: str) -> Actor:
    return Actor(name=who, seat=state.participants[who].seat)


def refusal(state: IncidentState, who: str, type_: str, now: datetime = NOW, **payload: Any):
    """The refusal code the hub would answer, or ``None`` if it would accept."""
    found = check_command(state, _draft(type_, payload), _actor(state, who), now)
    return None if found is None else found.code


def act(state: IncidentState, who: str, type_: str, now: datetime = NOW, **payload: Any):
    """Check and fold one command as the hub would; fails the test if it would be refused."""
    draft = _draft(type_, payload)
    found = check_command(state, draft, _actor(state, who), now)
    assert found is None, f"{who} {type_} refused: {found}"
    stamped = draft.model_copy(
        update={"seq": state.seq + 1, "at": now, "actor": who, "role": state.role_of(who)}
    )
    return apply(state, stamped), stamped
