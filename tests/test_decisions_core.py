"""The decision log and follow-ups: fold, numbering, superseding, and who may record what."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.board_room import NOW, act, refusal, room
from warroom.core.log import EventError, parse_event

ROLL_BACK = {"what": "Roll back to v2.3.0", "why": "Leak started with v2.3.1; rollback is fast"}


def board_room():
    """A room whose board holds fact #8, guess #9, confirmed guess #10 and retracted fact #12."""
    state, _ = act(room(), "cy", "board_item_added", kind="fact", text="5xx at 23% on /pay")
    state, _ = act(state, "bo", "board_item_added", kind="guess", text="dns flapping")
    state, _ = act(state, "bo", "board_item_added", kind="guess", text="connection leak")
    state, _ = act(state, "dee", "guess_confirmed", item=10)
    state, _ = act(state, "cy", "board_item_added", kind="fact", text="only EU")
    state, _ = act(state, "cy", "fact_retracted", item=12, reason="US too")
    assert state.seq == 13
    return state


def test_the_ic_records_a_numbered_decision_citing_two_facts():
    state, recorded = act(
        board_room(),
        "ana",
        "decision_recorded",
        facts=[8, 10],
        owner="bo",
        options=["roll back", "hotfix forward", " "],
        **ROLL_BACK,
    )
    decision = state.decisions[1]
    assert decision.label == "D1" and decision.seq == recorded.seq and decision.at == NOW
    assert decision.what == "Roll back to v2.3.0" and decision.why.startswith("Leak started")
    assert decision.options == ("roll back", "hotfix forward")
    assert decision.facts == (8, 10) and decision.owner == "bo" and decision.decided_by == "ana"
    assert decision.active and decision.supersedes is None
    assert recorded.describe() == (
        "Decided: Roll back to v2.3.0; why: Leak started with v2.3.1; rollback is fast; "
        "carried out by bo; rests on #8, #10"
    )


@pytest.mark.parametrize(
    ("who", "payload", "code"),
    [
        ("dee", {}, "forbidden"),  # the technical lead is not the IC
        ("bo", {}, "forbidden"),
        ("olly", {}, "forbidden"),
        ("ana", {"facts": [8, 99]}, "unknown_item"),
        ("ana", {"facts": [9]}, "not_a_fact"),  # still a guess
        ("ana", {"facts": [12]}, "not_a_fact"),  # retracted
        ("ana", {"facts": [8, 8]}, "invalid"),
        ("ana", {"owner": "zed"}, "unknown_participant"),
        ("ana", {"owner": "olly"}, "forbidden"),
        ("ana", {"supersedes": 1}, "unknown_decision"),
        ("ana", {"why": "  "}, "reason_required"),
        ("ana", {"options": ["x" * 301]}, "invalid"),
    ],
)
def test_decisions_are_refused_when_they_are_not_the_ics_or_cite_what_is_not_there(
    who, payload, code
):
    assert refusal(board_room(), who, "decision_recorded", **{**ROLL_BACK, **payload}) == code


def test_a_decision_needs_what_and_why():
    with pytest.raises(EventError, match="what"):
        parse_event({"type": "decision_recorded", "id": str(uuid.uuid4()), "why": "fast"})
    # ``why`` is the decision's reason: left out, it is refused like every missing reason.
    assert refusal(board_room(), "ana", "decision_recorded", what="roll back") == "reason_required"


def test_superseding_links_both_decisions_and_never_edits_the_first():
    state, _ = act(board_room(), "ana", "decision_recorded", facts=[8], **ROLL_BACK)
    first = state.decisions[1]
    state, later = act(
        state,
        "ana",
        "decision_recorded",
        supersedes=1,
        facts=[8, 10],
        what="Hotfix forward instead",
        why="Rollback blocked by a migration",
    )
    old, new = state.decisions[1], state.decisions[2]
    assert new.no == 2 and new.supersedes == 1 and new.active
    assert old.superseded_by == 2 and not old.active
    assert old.model_dump(exclude={"superseded_by"}) == first.model_dump(exclude={"superseded_by"})
    assert later.describe().startswith("Decided: Hotfix forward instead (supersedes D1); why:")
    assert refusal(state, "ana", "decision_recorded", supersedes=1, **ROLL_BACK) == (
        "already_superseded"
    )
    state, _ = act(state, "ana", "decision_recorded", supersedes=2, **ROLL_BACK)
    assert [d.active for d in state.decisions.values()] == [False, False, True]
    assert state.decisions[2].superseded_by == 3


def test_anyone_in_the_room_notes_a_follow_up_with_owner_and_due_date():
    due = (NOW + timedelta(days=7)).date()
    state, noted = act(
        room(),
        "bo",
        "follow_up_noted",
        text="Alert on pool saturation",
        owner="dee",
        due=due.isoformat(),
    )
    state, _ = act(
        state,
        "cy",
        "follow_up_noted",
        text="Canary for db drivers",
        owner="team db",
        due=NOW.date().isoformat(),
    )
    first = state.follow_ups[1]
    assert (first.label, first.text, first.owner, first.due, first.noted_by) == (
        "A1",
        "Alert on pool saturation",
        "dee",
        due,
        "bo",
    )
    assert state.follow_ups[2].label == "A2" and state.follow_ups[2].owner == "team db"
    assert noted.describe() == (
        f"Follow-up: Alert on pool saturation (owner dee, due {due.isoformat()})"
    )


def test_follow_ups_are_refused_to_observers_and_in_the_past_and_need_all_three_fields():
    yesterday = (NOW - timedelta(days=1)).date().isoformat()
    state = room()
    assert (
        refusal(
            state,
            "olly",
            "follow_up_noted",
            text="x",
            owner="dee",
            due=date(2026, 4, 1).isoformat(),
        )
        == "forbidden"
    )
    assert (
        refusal(state, "bo", "follow_up_noted", text="x", owner="dee", due=yesterday) == "invalid"
    )
    assert (
        refusal(
            state, "bo", "follow_up_noted", text="x", owner="  ", due=date(2026, 4, 1).isoformat()
        )
        == "invalid"
    )
    with pytest.raises(EventError, match="due"):
        parse_event(
            {"type": "follow_up_noted", "id": str(uuid.uuid4()), "text": "x", "owner": "dee"}
        )


def test_decision_folds_leave_the_state_they_were_given_unchanged():
    state = board_room()
    before = state.model_dump()
    after, _ = act(state, "ana", "decision_recorded", facts=[8], **ROLL_BACK)
    assert state.model_dump() == before and state.decisions == {}
    middle = after.model_dump()
    act(after, "ana", "decision_recorded", supersedes=1, **ROLL_BACK)
    assert after.model_dump() == middle and after.decisions[1].active
