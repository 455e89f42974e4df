"""What the console offers and what the hub accepts are one answer: the core's.

The table below runs every person of a room (IC, lead, scribe, comms, responder, observer, guest)
over the lock held and free and the incident open and closed, through a set of commands, and
checks that :func:`warroom.core.affordances.affordances` allows a command exactly when
:func:`warroom.core.rules.check_command` (what the hub runs before storing) accepts it, with the
same refusal; and that asking a bare event type (what a key whose form is not filled in yet asks)
never allows what every command of that type would be refused, nor refuses what one is accepted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.helpers import ROLLBACK, T0, make_event
from warroom.core.access import JoinCodeCreated
from warroom.core.actions import ActionStarted
from warroom.core.affordances import affordances, draft
from warroom.core.board import BoardItemAdded, EvidenceAdded, GuessClaimed, GuessConfirmed
from warroom.core.comms import UpdatePublished
from warroom.core.decisions import DecisionRecorded, FollowUpNoted
from warroom.core.events import Actor, EventBase
from warroom.core.fold import apply, replay
from warroom.core.handoff import HandoffOffered, IcClaimed
from warroom.core.incident import NoteAdded, ParticipantJoined, RoleAssigned
from warroom.core.lifecycle import ImpactStartSet, PhaseChanged, SeverityChanged, TriageAnswered
from warroom.core.lock import (
    LockForceReleased,
    LockHandedOver,
    LockReleased,
    LockRenewed,
    LockRequested,
)
from warroom.core.rules import check_command
from warroom.core.state import IncidentState

NOW = T0 + timedelta(minutes=20)

#: Who is in the room, and the seat each joined with; each held role is assigned below.
PEOPLE: dict[str, str] = {
    "ana": "ic",
    "lee": "lead",
    "sam": "scribe",
    "cat": "comms",
    "rita": "responder",
    "lou": "responder",
    "otto": "observer",
    "guest:vic": "responder",
}
#: The person of each kind the table acts as.
ACTORS: dict[str, str] = {
    "ic": "ana",
    "lead": "lee",
    "scribe": "sam",
    "comms": "cat",
    "responder": "rita",
    "lock holder": "lou",
    "observer": "otto",
    "guest": "guest:vic",
}


def room(*, lock_held: bool, closed: bool, ic_away: bool = False) -> IncidentState:
    """ana is IC (online unless ``ic_away``); lee, sam and cat hold the lead, scribe and comms
    roles; lou may hold the lock."""
    events: list[EventBase] = [make_event("incident_declared", 1, title="t", severity="SEV2")]
    for name, seat in PEOPLE.items():
        events.append(
            make_event(
                "participant_joined", len(events) + 1, actor=name, role=seat, name=name, seat=seat
            )  # fmt: skip
        )
    for role, holder in (("lead", "lee"), ("scribe", "sam"), ("comms", "cat")):
        events.append(
            make_event("role_assigned", len(events) + 1, assigned_role=role, holder=holder)
        )
    events.append(make_event("board_item_added", len(events) + 1, actor="rita",
                             role="responder", kind="guess", text="pool exhausted"))  # fmt: skip
    if lock_held:
        events.append(make_event("lock_requested", len(events) + 1, actor="lou", role="responder",
                                 at=NOW - timedelta(minutes=1)))  # fmt: skip
    if ic_away:
        events.append(make_event("participant_left", len(events) + 1, name="ana"))
    if closed:
        events.append(make_event("phase_changed", len(events) + 1, phase="resolved",
                                 resolution="rolled back"))  # fmt: skip
        events.append(make_event("phase_changed", len(events) + 1, phase="closed"))
    return replay(events)


def commands(state: IncidentState) -> dict[str, EventBase]:
    """A complete command of each kind the console's keys send, as a client would build it."""
    token = state.lock.token or 1  # a free lock has no lease: a stale token, as a client holds
    card = min(state.board)
    wanted: dict[str, tuple[type[EventBase], dict[str, Any]]] = {
        "note": (NoteAdded, {"text": "restarted the pool"}),
        "decide": (DecisionRecorded, {"what": "roll back", "why": "errors since deploy"}),
        "follow_up": (
            FollowUpNoted,
            {"text": "alert on pool", "owner": "rita", "due": NOW.date().isoformat()},
        ),  # fmt: skip
        "guess": (BoardItemAdded, {"kind": "guess", "text": "bad deploy"}),
        "claim": (GuessClaimed, {"item": card}),
        "confirm": (GuessConfirmed, {"item": card}),
        "evidence": (EvidenceAdded, {"item": card, "evidence": {"kind": "note", "text": "x"}}),
        "lock": (LockRequested, {}),
        "release": (LockReleased, {"token": token}),
        "renew": (LockRenewed, {"token": token}),
        "action": (ActionStarted, {"token": token, **ROLLBACK}),
        "force_release": (LockForceReleased, {"token": token, "reason": "away"}),
        "hand_lock": (LockHandedOver, {"token": token, "to": "rita"}),
        "severity": (
            SeverityChanged,
            {"severity": "SEV1", "reason": "spreading", "previous": state.severity.value},
        ),  # fmt: skip
        "reopen": (PhaseChanged, {"phase": "mitigating", "reason": "errors back"}),
        "assign": (RoleAssigned, {"assigned_role": "scribe", "holder": "rita"}),
        "claim_ic": (IcClaimed, {"previous": state.ic}),
        "publish": (UpdatePublished, {"audience": "internal", "text": "we are on it"}),
        "hand_role": (HandoffOffered, {"offered_role": "ic", "to": "lee"}),
        "triage": (TriageAnswered, {"question": "who", "answer": "all"}),
        "impact": (ImpactStartSet, {"started_at": (T0 - timedelta(hours=1)).isoformat()}),
        "join_code": (JoinCodeCreated, {"code_id": "0a1b2c3d", "digest": "0" * 64}),
        "joined": (ParticipantJoined, {"name": "rita", "seat": "responder"}),
    }
    built = {key: draft(state, kind, **payload) for key, (kind, payload) in wanted.items()}
    missing = [key for key, command in built.items() if command is None]
    assert not missing, f"these commands do not build: {missing}"
    return {key: command for key, command in built.items() if command is not None}


def actor(state: IncidentState, name: str) -> Actor:
    return Actor(name=name, seat=state.participants[name].seat)


CASES = [
    (held, closed, away)
    for held in (False, True)
    for closed in (False, True)
    for away in (False, True)
]


@pytest.mark.parametrize(("lock_held", "closed", "ic_away"), CASES)
def test_affordances_allow_exactly_what_check_command_accepts(lock_held, closed, ic_away):
    state = room(lock_held=lock_held, closed=closed, ic_away=ic_away)
    assert state.lock.holder == ("lou" if lock_held else None)
    cands = commands(state)
    for kind, name in ACTORS.items():
        who = actor(state, name)
        offered = affordances(state, who, NOW, cands)
        for key, command in cands.items():
            hub = check_command(state, command, who, NOW)
            assert offered.allows(key) == (hub is None), (kind, key, hub)
            assert offered.refusal(key) == hub, (kind, key)
            # What a key asks before its form is filled in: the type-wide rules of the core.
            wide = affordances(state, who, NOW, {key: command.type}).refusal(key)
            if hub is None:
                assert wide is None, (kind, key, wide)
            if wide is not None:
                assert hub == wide, (kind, key, "the type says no, the command must say the same")


def test_the_table_is_not_vacuous():
    """Every kind of person is refused something and (unless an observer) allowed something,
    and every command is allowed to someone and refused to someone, across the table."""
    allowed: dict[str, set[str]] = {}
    refused: dict[str, set[str]] = {}
    for held, closed, away in CASES:
        state = room(lock_held=held, closed=closed, ic_away=away)
        cands = commands(state)
        for kind, name in ACTORS.items():
            offered = affordances(state, actor(state, name), NOW, cands)
            for key in cands:
                (allowed if offered.allows(key) else refused).setdefault(kind, set()).add(key)
                (allowed if offered.allows(key) else refused).setdefault(key, set()).add(kind)
    assert "observer" not in allowed
    for kind in ACTORS:
        assert refused.get(kind), kind
        if kind != "observer":
            assert allowed.get(kind), kind
    never = {"joined"}  # hub-only: nobody sends it
    for key in commands(room(lock_held=False, closed=False)):
        assert refused.get(key), key
        if key not in never:
            assert allowed.get(key), key
    # A few rights the hub is known for, read off the table.
    assert "decide" in allowed["ic"] and "decide" not in allowed.get("lead", set())
    assert "action" in allowed["lock holder"] and "action" not in allowed["responder"]
    assert "join_code" not in allowed["guest"] and "claim_ic" not in allowed["guest"]
    assert "publish" in allowed["comms"] and "publish" not in allowed["scribe"]
    assert "claim_ic" in allowed["responder"] and "claim_ic" not in allowed["ic"]


def test_a_closed_incident_offers_only_what_the_hub_takes_after_closing():
    state = room(lock_held=False, closed=True)
    cands = commands(state)
    offered = affordances(state, actor(state, "ana"), NOW, cands)
    assert offered.allowed == {"reopen", "impact"}
    assert offered.refusal("note").code == "closed"


def test_a_command_that_does_not_build_is_refused_not_allowed():
    state = room(lock_held=False, closed=False)
    offered = affordances(state, actor(state, "ana"), NOW, {"broken": None, "ok": "note_added"})
    assert not offered.allows("broken") and offered.refusal("broken").code == "invalid"
    assert offered.allows("ok")
    assert not offered.allows("never asked")


def test_a_later_event_changes_the_answer():
    """Affordances are a function of the folded state: the lock's release gives the action away."""
    state = room(lock_held=True, closed=False)
    lou = actor(state, "lou")
    assert affordances(state, lou, NOW, commands(state)).allows("action")
    released = make_event("lock_released", state.seq + 1, actor="lou", role="responder",
                          token=state.lock.token)  # fmt: skip
    after = apply(state, released)
    refusal = affordances(after, lou, NOW, commands(after)).refusal("action")
    assert refusal is not None and refusal.code == "stale_token"
    assert refusal == check_command(after, commands(after)["action"], lou, NOW)
