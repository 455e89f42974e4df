"""Roles and the roster as data: who holds what, since when, online, and what is pending."""

from __future__ import annotations

from datetime import timedelta

from tests.board_room import NOW, act, refusal, room
from tests.helpers import T0, make_event
from warroom.core.briefing import build_briefing
from warroom.core.fold import apply
from warroom.core.handoff import may_claim_ic, rotation_suggested
from warroom.core.roles import Role
from warroom.core.roster import holds_label, person_rows, role_rows


def test_the_ic_assigns_the_other_roles_and_nobody_assigns_the_ic():
    state = room()
    assert refusal(state, "bo", "role_assigned", assigned_role="scribe", holder="bo") == "forbidden"
    assert refusal(state, "ana", "role_assigned", assigned_role="ic", holder="bo") == "forbidden"
    assert refusal(state, "ana", "role_assigned", assigned_role="scribe", holder="olly") == (
        "forbidden"
    )
    state, ev = act(state, "ana", "role_assigned", assigned_role="comms", holder="cy")
    assert state.holder(Role.COMMS) == "cy" and ev.describe() == "cy is now comms lead"


def test_role_rows_say_holder_since_online_and_a_second_role():
    state = room()
    later = NOW + timedelta(minutes=3)
    state, _ = act(state, "ana", "role_assigned", now=later, assigned_role="scribe", holder="ana")
    state = apply(
        state, make_event("participant_left", state.seq + 1, actor="dee", name="dee", at=later)
    )
    rows = {r.role: r for r in role_rows(state, now=NOW + timedelta(minutes=10))}

    ic = rows[Role.IC]
    assert (ic.holder, ic.since, ic.online, ic.also_holds) == ("ana", T0, True, (Role.SCRIBE,))
    assert ic.held_for == timedelta(minutes=30)
    scribe = rows[Role.SCRIBE]
    assert (scribe.holder, scribe.since, scribe.also_holds) == ("ana", later, (Role.IC,))
    assert rows[Role.LEAD].holder == "dee" and not rows[Role.LEAD].online
    assert rows[Role.COMMS].vacant and rows[Role.COMMS].held_for is None
    assert [r.role for r in role_rows(state, NOW)] == [Role.IC, Role.LEAD, Role.COMMS, Role.SCRIBE]


def test_person_rows_list_everyone_online_first_with_every_role_held():
    state = room()
    state, _ = act(state, "ana", "role_assigned", assigned_role="scribe", holder="ana")
    state = apply(state, make_event("participant_left", state.seq + 1, actor="cy", name="cy"))
    people = person_rows(state)
    assert [p.name for p in people] == ["ana", "bo", "dee", "olly", "cy"]
    ana = people[0]
    assert ana.roles == (Role.IC, Role.SCRIBE) and holds_label(ana.roles) == "IC + scribe"
    assert not people[-1].online and people[-1].last_seen is not None


def test_the_roster_shows_an_open_offer_and_a_rotation_that_is_due():
    state = room()
    state, _ = act(
        state,
        "ana",
        "handoff_offered",
        offered_role="ic",
        to="bo",
        briefing=build_briefing(state).model_dump(mode="json"),
    )
    rows = {r.role: r for r in role_rows(state, NOW)}
    assert rows[Role.IC].offer is not None and rows[Role.IC].offer.incoming == "bo"
    assert {p.name: p.offered for p in person_rows(state)}["bo"] == Role.IC
    assert not rows[Role.IC].rotation_due

    rotation = make_event(
        "rotation_due",
        state.seq + 1,
        actor="warroom",
        role="hub",
        rotated_role="ic",
        holder="ana",
        since=T0.isoformat(),
        after="PT3H",
        at=T0 + timedelta(hours=3),
    )
    state = apply(state, rotation)
    assert rotation_suggested(state) and role_rows(state, NOW)[0].rotation_due


def test_claiming_is_offered_only_when_the_ic_is_away():
    state = room()
    assert not may_claim_ic(state, "bo")
    gone = apply(state, make_event("participant_left", state.seq + 1, actor="ana", name="ana"))
    assert may_claim_ic(gone, "bo") and not may_claim_ic(gone, "olly")
    assert not may_claim_ic(gone, "ana")
