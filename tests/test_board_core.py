"""The board's fold and rules, for every transition and everyone who may or may not make it."""

from __future__ import annotations

import uuid

import pytest

from tests.board_room import NOW, act, refusal, room
from warroom.core.board import Column, ItemKind, ItemStatus, column, may_resolve, may_retract
from warroom.core.log import EventError, parse_event

ROLLBACK = "connection leak in v2.3.1"


def with_guess(owner: str | None = None):
    """A room with guess #8 written by bo, optionally claimed by ``owner``."""
    state, added = act(room(), "bo", "board_item_added", kind="guess", text=ROLLBACK)
    assert added.seq == 8
    if owner:
        state, _ = act(state, owner, "guess_claimed", item=8)
    return state


def test_facts_and_guesses_land_in_their_columns_numbered_by_seq_with_evidence():
    state, fact = act(
        room(),
        "cy",
        "board_item_added",
        kind="fact",
        text="  5xx at 23% on /pay ",
        evidence=[{"kind": "graph", "text": "checkout-errors dashboard"}],
    )
    state, guess = act(state, "bo", "board_item_added", kind="guess", text=ROLLBACK)
    assert [i.no for i in column(state, Column.FACTS)] == [fact.seq] == [8]
    assert [i.no for i in column(state, Column.GUESSES)] == [guess.seq] == [9]
    assert column(state, Column.RULED_OUT) == []
    card = state.board[8]
    assert card.kind == ItemKind.FACT and card.status == ItemStatus.CONFIRMED and card.is_fact
    assert card.text == "5xx at 23% on /pay" and card.author == "cy" and card.added_at == NOW
    assert [(e.kind, e.text, e.by, e.seq) for e in card.evidence] == [
        ("graph", "checkout-errors dashboard", "cy", 8)
    ]
    assert state.board[9].status == ItemStatus.OPEN and state.board[9].owner is None
    assert fact.describe() == "Fact #8: 5xx at 23% on /pay (1 evidence)"
    assert guess.describe() == f"Guess #9: {ROLLBACK}"


def test_adding_is_refused_to_observers_and_without_text():
    state = room()
    assert refusal(state, "olly", "board_item_added", kind="guess", text="dns?") == "forbidden"
    assert refusal(state, "bo", "board_item_added", kind="guess", text="   ") == "invalid"
    assert refusal(state, "bo", "board_item_added", kind="guess", text="dns?") is None
    with pytest.raises(EventError, match="kind"):
        parse_event(
            {"type": "board_item_added", "id": str(uuid.uuid4()), "kind": "rumour", "text": "x"}
        )
    with pytest.raises(EventError, match="text"):
        parse_event(
            {"type": "board_item_added", "id": str(uuid.uuid4()), "kind": "fact", "text": "x" * 501}
        )


def test_claiming_shows_the_owner_and_taking_over_must_be_explicit():
    state = with_guess()
    state, claim = act(state, "bo", "guess_claimed", item=8, subject=ROLLBACK)
    assert state.board[8].owner == "bo"
    assert claim.describe() == f"Checking guess #8: {ROLLBACK}"
    assert refusal(state, "bo", "guess_claimed", item=8) == "already_owner"
    assert refusal(state, "cy", "guess_claimed", item=8) == "owned"
    assert (
        refusal(state, "cy", "guess_claimed", item=8, take_over=True, previous_owner="dee")
        == "stale"
    )
    state, took = act(
        state, "cy", "guess_claimed", item=8, take_over=True, previous_owner="bo", subject=ROLLBACK
    )
    assert state.board[8].owner == "cy"
    assert [(c.actor, c.action, c.detail) for c in state.board[8].history] == [
        ("bo", "added", "as a guess"),
        ("bo", "claimed", ""),
        ("cy", "took over", "from bo"),
    ]
    assert took.describe() == f"Took over guess #8: {ROLLBACK} from bo"


def test_claims_are_refused_for_unknown_cards_wrong_subjects_observers_and_settled_guesses():
    state = with_guess()
    assert refusal(state, "cy", "guess_claimed", item=99) == "unknown_item"
    assert refusal(state, "cy", "guess_claimed", item=8, subject="dns is down") == "stale"
    assert refusal(state, "olly", "guess_claimed", item=8) == "forbidden"
    state, _ = act(state, "dee", "guess_confirmed", item=8)
    assert refusal(state, "cy", "guess_claimed", item=8) == "not_open"
    state, _ = act(state, "cy", "board_item_added", kind="fact", text="pool at 100%")
    assert refusal(state, "cy", "guess_claimed", item=10) == "not_open"


def test_releasing_frees_a_guess_for_someone_else():
    state = with_guess(owner="bo")
    assert refusal(state, "cy", "guess_released", item=8) == "forbidden"
    state, released = act(state, "bo", "guess_released", item=8)
    assert state.board[8].owner is None
    assert released.describe() == "Stopped checking guess #8"
    assert refusal(state, "bo", "guess_released", item=8) == "not_owned"
    state, _ = act(state, "cy", "guess_claimed", item=8)
    state, _ = act(state, "ana", "guess_released", item=8)  # the IC frees it
    assert state.board[8].history[-1].detail == "by ana"


@pytest.mark.parametrize("who", ["bo", "dee", "ana"])  # owner, technical lead, IC
def test_the_owner_lead_or_ic_confirm_and_the_guess_becomes_a_fact_keeping_its_history(who):
    state = with_guess(owner="bo")
    state, _ = act(
        state,
        "cy",
        "evidence_added",
        item=8,
        evidence={"kind": "query", "text": "select count(*) from pg_stat_activity"},
    )
    state, confirmed = act(
        state,
        who,
        "guess_confirmed",
        item=8,
        subject=ROLLBACK,
        evidence={"kind": "output", "text": "leaked conns: 4812"},
    )
    card = state.board[8]
    assert card.status == ItemStatus.CONFIRMED and card.is_fact and card.column == Column.FACTS
    assert card.kind == ItemKind.GUESS and card.author == "bo" and card.owner == "bo"
    assert card.resolved_by == who and card.resolved_at == NOW
    assert [e.kind for e in card.evidence] == ["query", "output"]
    assert [c.action for c in card.history] == ["added", "claimed", "evidence", "confirmed"]
    assert confirmed.describe() == (
        f"Confirmed guess #8: {ROLLBACK} (now a fact); output: leaked conns: 4812"
    )
    assert column(state, Column.GUESSES) == [] and column(state, Column.FACTS) == [card]


def test_confirming_is_refused_to_others_and_to_anything_but_an_open_guess():
    state = with_guess(owner="bo")
    assert refusal(state, "cy", "guess_confirmed", item=8) == "forbidden"
    unowned = with_guess()
    assert refusal(unowned, "bo", "guess_confirmed", item=8) == "forbidden"  # author, not owner
    assert refusal(state, "olly", "guess_confirmed", item=8) == "forbidden"
    assert refusal(state, "bo", "guess_confirmed", item=42) == "unknown_item"
    state, _ = act(state, "bo", "guess_confirmed", item=8)
    assert refusal(state, "bo", "guess_confirmed", item=8) == "not_open"
    assert may_resolve(state, "dee", state.board[8]) and not may_resolve(
        state, "cy", state.board[8]
    )


def test_ruling_out_needs_evidence_and_the_right_person():
    state = with_guess(owner="cy")
    with pytest.raises(EventError, match="evidence"):
        parse_event({"type": "guess_ruled_out", "id": str(uuid.uuid4()), "item": 8})
    assert (
        refusal(
            state, "bo", "guess_ruled_out", item=8, evidence={"kind": "graph", "text": "p99 flat"}
        )
        == "forbidden"
    )
    assert (
        refusal(state, "cy", "guess_ruled_out", item=8, evidence={"kind": "graph", "text": "   "})
        == "invalid"
    )
    state, ruled = act(
        state,
        "cy",
        "guess_ruled_out",
        item=8,
        evidence={"kind": "graph", "text": "pool usage flat since 13:00"},
    )
    card = state.board[8]
    assert card.status == ItemStatus.RULED_OUT and card.column == Column.RULED_OUT
    assert card.evidence[-1].text == "pool usage flat since 13:00" and card.resolved_by == "cy"
    assert card.reason == "pool usage flat since 13:00"
    assert column(state, Column.RULED_OUT) == [card]
    assert ruled.describe() == "Ruled out guess #8; graph: pool usage flat since 13:00"
    assert refusal(state, "cy", "guess_confirmed", item=8) == "not_open"
    assert refusal(state, "cy", "fact_retracted", item=8, reason="x") == "not_a_fact"


def test_a_retracted_fact_stays_visible_with_its_reason_below_the_live_facts():
    state, _ = act(room(), "bo", "board_item_added", kind="fact", text="only EU affected")
    state, _ = act(state, "cy", "board_item_added", kind="fact", text="5xx at 23%")
    assert refusal(state, "cy", "fact_retracted", item=8, reason="US too") == "forbidden"
    assert refusal(state, "bo", "fact_retracted", item=8, reason="   ") == "reason_required"
    state, retracted = act(
        state, "bo", "fact_retracted", item=8, reason="US shows 5xx too", subject="only EU affected"
    )
    card = state.board[8]
    assert card.status == ItemStatus.RETRACTED and card.reason == "US shows 5xx too"
    assert not card.is_fact and card.column == Column.FACTS
    assert [i.no for i in column(state, Column.FACTS)] == [9, 8]
    assert retracted.describe() == "Retracted fact #8: only EU affected; reason: US shows 5xx too"
    assert refusal(state, "bo", "fact_retracted", item=8, reason="again") == "not_a_fact"
    # the lead and the IC may retract any fact; a guess is ruled out, not retracted
    assert refusal(state, "dee", "fact_retracted", item=9, reason="x") is None
    assert refusal(state, "ana", "fact_retracted", item=9, reason="x") is None
    state, _ = act(state, "cy", "board_item_added", kind="guess", text="dns")
    assert refusal(state, "ana", "fact_retracted", item=11, reason="x") == "not_a_fact"


def test_whoever_confirmed_a_guess_may_retract_it():
    state = with_guess(owner="bo")
    state, _ = act(state, "dee", "guess_confirmed", item=8)
    state, _ = act(state, "ana", "role_assigned", assigned_role="lead", holder="cy")
    assert may_retract(state, "bo", state.board[8])  # the owner vouched for it
    assert may_retract(state, "dee", state.board[8])  # no longer lead, but confirmed it
    assert refusal(state, "dee", "fact_retracted", item=8, reason="wrong pool") is None


def test_anyone_but_observers_adds_evidence_to_any_card():
    state = with_guess()
    state, added = act(
        state,
        "cy",
        "evidence_added",
        item=8,
        subject=ROLLBACK,
        evidence={"kind": "link", "text": "https://grafana/d/pool"},
    )
    assert state.board[8].evidence[-1].by == "cy"
    assert added.describe() == f"Evidence on #8: {ROLLBACK}; link: https://grafana/d/pool"
    assert (
        refusal(state, "olly", "evidence_added", item=8, evidence={"kind": "note", "text": "x"})
        == "forbidden"
    )
    assert (
        refusal(state, "cy", "evidence_added", item=7, evidence={"kind": "note", "text": "x"})
        == "unknown_item"
    )


def test_every_board_fold_leaves_the_state_it_was_given_unchanged():
    steps = [
        ("bo", "board_item_added", {"kind": "guess", "text": ROLLBACK}),
        ("bo", "guess_claimed", {"item": 8}),
        ("cy", "guess_claimed", {"item": 8, "take_over": True}),
        ("cy", "guess_released", {"item": 8}),
        ("cy", "evidence_added", {"item": 8, "evidence": {"text": "x"}}),
        ("dee", "guess_confirmed", {"item": 8}),
        ("dee", "fact_retracted", {"item": 8, "reason": "no"}),
        ("bo", "board_item_added", {"kind": "guess", "text": "dns"}),
        ("ana", "guess_ruled_out", {"item": 15, "evidence": {"text": "dig ok"}}),
    ]
    state = room()
    for who, type_, payload in steps:
        before = state.model_dump()
        after, _ = act(state, who, type_, **payload)
        assert state.model_dump() == before, f"{type_} changed the state it was given"
        assert after != state
        state = after
    assert [c.action for c in state.board[8].history] == [
        "added",
        "claimed",
        "took over",
        "released",
        "evidence",
        "confirmed",
        "retracted",
    ]
