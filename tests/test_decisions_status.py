"""The IC's status line: drafted from the board, the roster and the decision log, in the format."""

from __future__ import annotations

from datetime import timedelta

from tests.board_room import NOW, act, room
from warroom.core.status_update import draft_status_update, leading_hypothesis


def investigating():
    """fact #8, guesses #9 (cy checking) and #10 (the lead checking, with evidence)."""
    state, _ = act(room(), "cy", "board_item_added", kind="fact", text="5xx at 23% on /pay")
    state, _ = act(state, "bo", "board_item_added", kind="guess", text="dns flapping")
    state, _ = act(
        state,
        "bo",
        "board_item_added",
        kind="guess",
        text="connection leak in v2.3.1",
        evidence=[{"kind": "graph", "text": "pool usage"}],
    )
    state, _ = act(state, "dee", "guess_claimed", item=10)
    state, _ = act(state, "cy", "guess_claimed", item=9)
    return state


def test_an_empty_board_drafts_a_line_that_says_so():
    assert draft_status_update(room(), NOW) == (
        "[09:20 UTC] Status update — SEV2 detected: Checkout errors after deploy. "
        "No hypothesis yet. Nobody is checking anything yet. Next update at 09:50 (in 30 min)."
    )


def test_while_investigating_the_line_names_the_leading_hypothesis_and_who_checks_what():
    assert draft_status_update(investigating(), NOW) == (
        "[09:20 UTC] Status update — SEV2 detected: Checkout errors after deploy; "
        "#8 5xx at 23% on /pay. Leading hypothesis: #10 connection leak in v2.3.1. "
        "cy checking #9; dee (technical lead) checking #10. Next update at 09:50 (in 30 min)."
    )


def test_the_leading_hypothesis_is_the_best_evidenced_then_a_claimed_one():
    state, _ = act(room(), "bo", "board_item_added", kind="guess", text="a")
    state, _ = act(state, "bo", "board_item_added", kind="guess", text="b")
    assert leading_hypothesis(state).no == 8  # a tie goes to the older guess
    state, _ = act(state, "cy", "guess_claimed", item=9)
    assert leading_hypothesis(state).no == 9
    state, _ = act(state, "bo", "evidence_added", item=8, evidence={"text": "trace"})
    assert leading_hypothesis(state).no == 8


def test_once_a_guess_is_confirmed_the_line_gives_the_known_cause_and_the_decision_owner():
    state, _ = act(investigating(), "dee", "guess_confirmed", item=10)
    state, _ = act(
        state,
        "ana",
        "decision_recorded",
        what="Roll back to v2.3.0",
        why="leak came with v2.3.1",
        owner="bo",
        facts=[10],
    )
    later = NOW + timedelta(minutes=7)
    assert draft_status_update(state, later) == (
        "[09:27 UTC] Status update — SEV2 detected: Checkout errors after deploy; "
        "#8 5xx at 23% on /pay. Known cause: #10 connection leak in v2.3.1. "
        "cy checking #9; bo carrying out D1 (Roll back to v2.3.0). "
        "Next update at 09:57 (in 30 min)."
    )
    state, _ = act(state, "ana", "decision_recorded", what="Hold", why="wait", supersedes=1)
    assert "D1" not in draft_status_update(state, later)
