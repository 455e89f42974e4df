"""A room of people for the board and decision tests, acting through the same rules as the hub.

``act`` checks a command with :func:`check_command` and folds it stamped as the hub would, so a
test reads like the incident it describes; ``refusal`` returns the code the hub would answer.
Each state made here remembers the log behind it, so a correction names its entry's type and
author as the hub's lookup in its log would (the state itself keeps no index of entries).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.helpers import T0, make_event
from warroom.core.board import (
    BoardItemAdded,
    FactRetracted,
    GuessClaimed,
    GuessConfirmed,
    GuessRuledOut,
)
from warroom.core.corrections import name_entry
from warroom.core.decisions import DecisionRecorded, FollowUpNoted
from warroom.core.events import Actor, EventBase
from warroom.core.fold import apply, replay
from warroom.core.log import parse_event
from warroom.core.roles import Role
from warroom.core.rules import check_command
from warroom.core.state import IncidentState

NOW = T0 + timedelta(minutes=20)


#: The log behind each state made here, by ``id(state)`` (the state is kept alive beside it).
_LOGS: dict[int, tuple[IncidentState, dict[int, EventBase]]] = {}


def _log_of(state: IncidentState) -> dict[int, EventBase]:
    kept = _LOGS.get(id(state))
    return kept[1] if kept is not None and kept[0] is state else {}


def logged(state: IncidentState, seq: int) -> EventBase | None:
    """The event ``seq`` of the log behind ``state`` (as the hub would read it from storage)."""
    return _log_of(state).get(seq)


def _remember(before: IncidentState | None, after: IncidentState, events: list[EventBase]):
    log = {**(_log_of(before) if before is not None else {}), **{e.seq: e for e in events}}
    _LOGS[id(after)] = (after, log)
    return after


def extend(events: list[EventBase], state: IncidentState | None = None) -> IncidentState:
    """``replay`` that remembers the log, for rooms built from a list of events."""
    return _remember(state, replay(events, state), events)


def room() -> IncidentState:
    """ana is IC, dee the technical lead, bo and cy responders, olly an observer."""
    return extend(
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


def _draft(state: IncidentState, type_: str, payload: dict[str, Any]):
    data = {"type": type_, "id": str(uuid.uuid4()), "incident_id": "inc-test"}
    data.update(payload)
    draft = parse_event(data)
    entry = payload.get("entry")
    return name_entry(draft, _log_of(state).get(entry) if isinstance(entry, int) else None)


def _actor(state: IncidentState, who: str) -> Actor:
    return Actor(name=who, seat=state.participants[who].seat)


def refusal(state: IncidentState, who: str, type_: str, now: datetime = NOW, **payload: Any):
    """The refusal code the hub would answer, or ``None`` if it would accept."""
    found = check_command(state, _draft(state, type_, payload), _actor(state, who), now)
    return None if found is None else found.code


def act(state: IncidentState, who: str, type_: str, now: datetime = NOW, **payload: Any):
    """Check and fold one command as the hub would; fails the test if it would be refused."""
    draft = _draft(state, type_, payload)
    found = check_command(state, draft, _actor(state, who), now)
    assert found is None, f"{who} {type_} refused: {found}"
    stamped = draft.model_copy(
        update={"seq": state.seq + 1, "at": now, "actor": who, "role": state.role_of(who)}
    )
    return _remember(state, apply(state, stamped), [stamped]), stamped


# --- a live room on a real hub, for console tests ------------------------------------------------
async def seed_room(url: str, incident: str) -> dict[str, int]:
    """Fill the board and the decision log of ``incident`` as three people would.

    Returns the card numbers by name. Everyone leaves again, one after the other, so the log is
    the same on every run.
    """
    from tests.helpers import client, eventually

    ana = await client(url, "ana", "ic", incident)
    bo = await client(url, "bo", "lead", incident)
    cy = await client(url, "cy", "responder", incident)
    await eventually(lambda: {"ana", "bo", "cy"} <= set(ana.state.participants))
    await eventually(lambda: ana.state.holder(Role.LEAD) == "bo")
    cards: dict[str, int] = {}

    async def add(who, key: str, kind: str, text: str, *evidence: tuple[str, str]) -> None:
        notes = [{"kind": k, "text": t} for k, t in evidence]
        ack = await who.post(BoardItemAdded(kind=kind, text=text, evidence=notes))
        cards[key] = ack.seq

    await add(
        ana,
        "errors",
        "fact",
        "5xx at 23% on /pay since 08:52",
        ("graph", "checkout-api errors dashboard"),
    )
    await add(
        bo,
        "leak",
        "guess",
        "connection leak in v2.3.1",
        ("query", "select count(*) from pg_stat_activity"),
    )
    await bo.post(GuessClaimed(item=cards["leak"]))
    await add(cy, "dns", "guess", "dns flapping in eu-west")
    await cy.post(GuessClaimed(item=cards["dns"]))
    await cy.post(
        GuessRuledOut(
            item=cards["dns"],
            evidence={"kind": "output", "text": "dig +trace clean from 3 regions"},
        )
    )
    await add(cy, "eu", "fact", "only EU customers affected")
    await ana.post(FactRetracted(item=cards["eu"], reason="US shows 5xx too"))
    await bo.post(
        GuessConfirmed(
            item=cards["leak"],
            evidence={"kind": "output", "text": "4812 idle connections from checkout"},
        )
    )
    await add(cy, "cdn", "guess", "CDN cache purge at 08:50")
    await add(ana, "psp", "guess", "payment provider timeouts", ("link", "status.psp.example"))
    await cy.post(GuessClaimed(item=cards["psp"]))
    await ana.post(
        DecisionRecorded(
            what="Roll back to v2.3.0",
            why="the leak came with v2.3.1; a rollback takes 4 minutes",
            options=["roll back", "hotfix forward", "wait"],
            facts=[cards["errors"], cards["leak"]],
            owner="bo",
        )
    )
    await ana.post(
        DecisionRecorded(
            what="Hotfix forward with the pool patch",
            why="a schema migration in v2.3.1 blocks the rollback",
            facts=[cards["leak"]],
            owner="bo",
            supersedes=1,
        )
    )
    await bo.post(
        FollowUpNoted(text="Alert on connection pool saturation", owner="bo", due="2026-03-21")
    )
    await cy.post(
        FollowUpNoted(
            text="Canary stage for db driver upgrades",
            owner="team db",
            due="2026-03-28",
        )
    )
    for leaving, staying in ((cy, bo), (bo, ana)):
        await leaving.close()
        await eventually(lambda n=leaving.name, s=staying: _left(s, n))
    await ana.close()
    return cards


def _left(console, name: str) -> bool:
    return any(e.type == "participant_left" and e.name == name for e in console.log)


def snap_filled_room(
    snap_compare: Any, tmp_path: Path, *, name: str, role: str, press: list[str], size: Any
) -> bool:
    """Snapshot ``name``'s console, after pressing ``press``, on a threaded hub whose room has
    filled the board and the decision log with :func:`seed_room`."""
    # Imported here: the core tests that use this module need no console, hub or Textual.
    from tests.console_helpers import INCIDENT_ID, snap_console

    def fill(hub: Any) -> None:
        hub.call(seed_room(hub.url, INCIDENT_ID))

    return snap_console(snap_compare, tmp_path, fill, name=name, role=role, press=press, size=size)
