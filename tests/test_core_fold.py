"""The fold and the rules of the basic events, without any network."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.helpers import T0, make_event
from warroom.core.affordances import may
from warroom.core.events import EVENT_TYPES, Actor
from warroom.core.fold import FoldError, apply, replay
from warroom.core.incident import IncidentDeclared, NoteAdded, RoleAssigned
from warroom.core.log import EventError, parse_event
from warroom.core.roles import Role
from warroom.core.rules import check_command
from warroom.core.state import IncidentState


def declared_log():
    return [
        make_event(
            "incident_declared",
            1,
            title="Checkout 500s",
            severity="SEV2",
            trigger="alert",
            symptoms="5xx on /pay",
            scope="EU",
        ),
        make_event("participant_joined", 2, name="ana", seat="ic"),
        make_event("participant_joined", 3, actor="bo", role="scribe", name="bo", seat="scribe"),
        make_event(
            "role_assigned", 4, actor="bo", role="scribe", assigned_role="scribe", holder="bo"
        ),
        make_event(
            "participant_joined", 5, actor="cy", role="observer", name="cy", seat="observer"
        ),
    ]


def draft(type_: str, **payload):
    return parse_event(
        {"type": type_, "id": str(uuid.uuid4()), "incident_id": "inc-test", **payload}
    )


def test_declaration_sets_the_incident_and_makes_the_declarer_ic():
    state = replay(declared_log()[:1])
    assert state.declared and state.title == "Checkout 500s"
    assert state.severity == "SEV2" and state.phase == "detected"
    assert state.ic == "ana" and state.declared_at == T0 and state.detected_at == T0
    assert state.scope == "EU" and state.seq == 1


def test_presence_roles_and_notes_fold():
    state = replay(declared_log())
    assert set(state.participants) == {"ana", "bo", "cy"}
    assert state.holder(Role.SCRIBE) == "bo"
    assert state.role_of("bo") == Role.SCRIBE
    assert state.is_observer("cy") and not state.is_observer("bo")
    left = apply(state, make_event("participant_left", 6, actor="bo", name="bo"))
    assert not left.participants["bo"].online and left.participants["ana"].online
    noted = apply(left, make_event("note_added", 7, text="db pool at 100%", kind="finding"))
    assert noted.note_count == 1 and noted.seq == 7
    vacated = apply(noted, make_event("role_assigned", 8, assigned_role="scribe", holder=None))
    assert vacated.holder(Role.SCRIBE) is None


def test_fold_is_pure_and_ordered():
    log = declared_log()
    before = replay(log[:3])
    snapshot = before.model_dump()
    after = apply(before, log[3])
    assert before.model_dump() == snapshot, "apply must not change the state it was given"
    assert after.holder(Role.SCRIBE) == "bo" and before.holder(Role.SCRIBE) is None
    with pytest.raises(FoldError):
        apply(before, log[4])  # seq 5 cannot follow seq 3
    with pytest.raises(FoldError):
        apply(after, make_event("note_added", 5, incident_id="other", text="x"))


def test_every_registered_event_type_is_in_the_union():
    for tag in (
        "incident_declared",
        "participant_joined",
        "participant_left",
        "role_assigned",
        "note_added",
    ):
        assert tag in EVENT_TYPES
    with pytest.raises(EventError, match="unknown event type 'nope'"):
        parse_event({"type": "nope", "id": str(uuid.uuid4())})
    with pytest.raises(EventError, match="text"):
        parse_event({"type": "note_added", "id": str(uuid.uuid4())})


def test_rules_allow_and_refuse():
    state = replay(declared_log())
    now = T0 + timedelta(minutes=5)
    ana, bo, cy = (
        Actor(name="ana", seat=Role.IC),
        Actor(name="bo", seat=Role.SCRIBE),
        Actor(name="cy", seat=Role.OBSERVER),
    )
    stranger = Actor(name="zed")

    assert check_command(state, draft("note_added", text="hi"), bo, now) is None
    assert check_command(state, draft("note_added", text="hi"), cy, now).code == "forbidden"
    assert check_command(state, draft("note_added", text="hi"), stranger, now).code == "not_joined"
    assert check_command(state, draft("note_added", text="   "), bo, now).code == "invalid"

    give = draft("role_assigned", assigned_role="comms", holder="bo")
    assert check_command(state, give, ana, now) is None
    assert check_command(state, give, bo, now).code == "forbidden"
    assert (
        check_command(state, draft("role_assigned", assigned_role="ic", holder="bo"), ana, now).code
        == "forbidden"
    )
    assert (
        check_command(
            state, draft("role_assigned", assigned_role="lead", holder="nobody"), ana, now
        ).code
        == "unknown_participant"
    )
    assert (
        check_command(
            state, draft("role_assigned", assigned_role="lead", holder="cy"), ana, now
        ).code
        == "forbidden"
    )

    joined = draft("participant_joined", name="zed", seat="ic")
    assert check_command(state, joined, ana, now).code == "hub_only"
    again = draft("incident_declared", title="again", severity="SEV1")
    assert check_command(state, again, ana, now).code == "already_declared"
    future = draft(
        "incident_declared",
        title="x",
        severity="SEV1",
        detected_at=(now + timedelta(hours=1)).isoformat(),
    )
    assert check_command(IncidentState(), future, ana, now).code == "invalid"
    note_on_nothing = draft("note_added", text="hello")
    assert check_command(IncidentState(), note_on_nothing, ana, now).code == "unknown_incident"


def test_affordances_grey_out_for_observers_and_hub_events():
    state = replay(declared_log())
    assert may(state, Actor(name="bo", seat=Role.SCRIBE), T0, "note_added")
    assert not may(state, Actor(name="cy", seat=Role.OBSERVER), T0, "note_added")
    assert not may(state, Actor(name="ana", seat=Role.IC), T0, "participant_joined")
    assert not may(state, Actor(name="ana", seat=Role.IC), T0, "no_such_event")


def test_descriptions_read_as_a_timeline():
    log = declared_log()
    assert log[0].describe() == "SEV2 declared: Checkout 500s"
    assert log[1].describe() == "ana joined as incident commander"
    assert isinstance(log[3], RoleAssigned) and log[3].describe() == "bo is now scribe"
    note = make_event("note_added", 6, text="kubectl rollout undo", kind="command")
    assert isinstance(note, NoteAdded) and note.describe() == "Ran: kubectl rollout undo"
    assert note.entry_kind() == "command"
    assert isinstance(log[0], IncidentDeclared) and log[0].entry_kind() == "declared"
