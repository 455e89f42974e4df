"""Corrections as events and time as it happened (issue 23, items 1 and 3), in the core.

Every right is tested refused for everyone without it, with nothing changed, and accepted for
each person who has it: the author, the scribe and the IC amend; the scribe and the IC retime.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.board_room import NOW, act, extend, logged, refusal, room
from tests.helpers import T0, make_event
from warroom.core.corrections import (
    NOTED_MAX_AGE,
    NOTED_SKEW,
    corrected,
    current_text,
    happened_at,
    name_entry,
    typed_note,
)
from warroom.core.events import Actor
from warroom.core.fold import apply
from warroom.core.incident import NoteAdded
from warroom.core.names import guest_name
from warroom.core.rules import check_command
from warroom.core.state import IncidentState

GUEST = guest_name("vic")
WRONG = "db failover took 3 minutes"
RIGHT = "db failover took 13 minutes"


def crew() -> IncidentState:
    """The board room (ana IC, dee lead, bo and cy responders, olly observer), with sam as
    scribe and vic as a guest responder."""
    state = room()
    return extend(
        [
            make_event(
                "participant_joined", 8, actor="sam", role="responder", name="sam", seat="scribe"
            ),
            make_event("role_assigned", 9, assigned_role="scribe", holder="sam"),
            make_event(
                "participant_joined",
                10,
                actor=GUEST,
                role="responder",
                name=GUEST,
                seat="responder",
            ),
        ],  # fmt: skip
        state,
    )


def with_entries() -> tuple[IncidentState, dict[str, int]]:
    """bo writes a finding, a guess card and evidence on it; the IC records a decision; the
    guest writes a note."""
    state = crew()
    state, finding = act(state, "bo", "note_added", kind="finding", text=WRONG)
    state, card = act(state, "bo", "board_item_added", kind="guess", text="pool too smal")
    state, evidence = act(
        state, "bo", "evidence_added", item=card.seq, evidence={"kind": "query", "text": "selct 1"}
    )
    state, decision = act(state, "ana", "decision_recorded", what="Roll back", why="v2 broke it")
    state, guest_note = act(state, GUEST, "note_added", text="vendor sees it too")
    seqs = {
        "finding": finding.seq,
        "card": card.seq,
        "evidence": evidence.seq,
        "decision": decision.seq,
        "guest_note": guest_note.seq,
        "joined": 8,  # a hub event: sam's arrival
    }
    return state, seqs


# --- amending -----------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["bo", "sam", "ana"])
def test_the_author_the_scribe_and_the_ic_amend_and_every_version_is_kept(who: str) -> None:
    state, seqs = with_entries()
    n = seqs["finding"]
    state, amend = act(state, who, "entry_amended", entry=n, text=RIGHT, reason="misread graph")
    versions = state.corrections[n]
    assert [(v.text, v.by, v.reason, v.seq) for v in versions] == [
        (RIGHT, who, "misread graph", amend.seq)
    ]
    state, again = act(state, "bo", "entry_amended", entry=n, text=RIGHT + "!", reason="typo")
    assert [v.text for v in state.corrections[n]] == [RIGHT, RIGHT + "!"]
    assert current_text(state, n, WRONG) == RIGHT + "!"
    original = NoteAdded(text=WRONG, kind="finding", seq=n)
    assert corrected(state, original).describe() == f"Finding: {RIGHT}!"
    assert amend.describe() == f"Amended #{n}: {RIGHT}; reason: misread graph"


@pytest.mark.parametrize("who", ["cy", "dee", "olly", GUEST])
def test_amending_someone_elses_entry_is_refused_and_changes_nothing(who: str) -> None:
    """Another responder, the technical lead, an observer and a guest may not amend bo's finding."""
    state, seqs = with_entries()
    code = refusal(state, who, "entry_amended", entry=seqs["finding"], text=RIGHT, reason="x")
    assert code == "forbidden"
    assert state.corrections == {}


def test_a_guest_amends_its_own_note_but_nobody_elses() -> None:
    state, seqs = with_entries()
    assert (
        refusal(
            state, GUEST, "entry_amended", entry=seqs["guest_note"], text="vendor: yes", reason="r"
        )
        is None
    )
    assert refusal(
        state, "cy", "entry_amended", entry=seqs["guest_note"], text="y", reason="r"
    ) == ("forbidden")


@pytest.mark.parametrize(
    ("which", "code"),
    [("decision", "not_amendable"), ("joined", "not_amendable"), ("declared", "not_amendable")],
)
def test_decisions_and_the_hubs_own_events_cannot_be_amended_by_anyone(
    which: str, code: str
) -> None:
    state, seqs = with_entries()
    seqs["declared"] = 1
    for who in ("ana", "sam", "bo"):
        assert refusal(state, who, "entry_amended", entry=seqs[which], text="x", reason="r") == code
    assert state.corrections == {}


def test_a_decision_says_supersede_it_instead() -> None:
    state, seqs = with_entries()
    draft = make_event("entry_amended", 0, entry=seqs["decision"], text="x", reason="r")
    draft = name_entry(draft, logged(state, seqs["decision"]))
    found = check_command(state, draft, Actor(name="ana", seat="ic"), NOW)
    assert found is not None and "supersedes" in found.message


def test_an_entry_that_does_not_exist_yet_is_unknown() -> None:
    state, _ = with_entries()
    assert (
        refusal(state, "ana", "entry_amended", entry=999, text="x", reason="r") == "unknown_entry"
    )


def test_an_amendment_needs_a_reason_new_text_and_fits_the_entry() -> None:
    state, seqs = with_entries()
    n, card = seqs["finding"], seqs["card"]
    assert refusal(state, "bo", "entry_amended", entry=n, text="  ", reason="r") == "invalid"
    assert refusal(state, "bo", "entry_amended", entry=n, text=RIGHT, reason="  ") == (
        "reason_required"  # as for every event that needs a reason
    )
    assert refusal(state, "bo", "entry_amended", entry=n, text=RIGHT) == "reason_required"
    assert refusal(state, "bo", "entry_amended", entry=card, text="pool too smal", reason="r") == (
        "invalid"
    )  # it already reads that way
    assert refusal(state, "bo", "entry_amended", entry=card, text="x" * 501, reason="r") == (
        "invalid"
    )  # a card is a sentence


def test_a_card_and_its_evidence_read_their_amended_text_and_say_so_in_their_history() -> None:
    state, seqs = with_entries()
    card, ev = seqs["card"], seqs["evidence"]
    state, _ = act(state, "bo", "entry_amended", entry=card, text="pool too small", reason="typo")
    state, _ = act(state, "sam", "entry_amended", entry=ev, text="select 1", reason="typo")
    item = state.board[card]
    assert item.text == "pool too small"
    assert [e.text for e in item.evidence] == ["select 1"]
    assert [(c.actor, c.action, c.detail) for c in item.history][-2:] == [
        ("bo", "amended", "typo"),
        ("sam", "evidence amended", "typo"),
    ]
    # later commands echo the card's current text
    assert refusal(state, "cy", "guess_claimed", item=card, subject="pool too small") is None
    assert refusal(state, "cy", "guess_claimed", item=card, subject="pool too smal") == "stale"


def closed(state: IncidentState) -> IncidentState:
    """``state`` after the IC mitigates, resolves and closes the incident."""
    for phase, previous in (("mitigating", "detected"), ("resolved", "mitigating"),
                            ("closed", "resolved")):  # fmt: skip
        extra = {"resolution": "rolled back"} if phase == "resolved" else {}
        state, _ = act(state, "ana", "phase_changed", phase=phase, previous=previous, **extra)
    return state


def test_corrections_are_accepted_after_the_close_and_nothing_else_is() -> None:
    state, seqs = with_entries()
    state = closed(state)
    n = seqs["finding"]
    assert refusal(state, "bo", "note_added", text="late") == "closed"
    assert refusal(state, "bo", "entry_amended", entry=n, text=RIGHT, reason="review") is None
    assert (
        refusal(state, "sam", "entry_retimed", entry=n, happened_at=T0.isoformat(), reason="r")
        is None
    )


# --- retiming -----------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["sam", "ana"])
def test_the_scribe_and_the_ic_retime_kept_apart_from_the_times_of_recording(who: str) -> None:
    state, seqs = with_entries()
    n = seqs["finding"]
    when = T0 + timedelta(minutes=2)
    state, retime = act(
        state, who, "entry_retimed", entry=n, happened_at=when.isoformat(), reason="graph says so"
    )
    assert [(r.happened_at, r.by, r.reason) for r in state.retimes[n]] == [
        (when, who, "graph says so")
    ]
    entry = make_event("note_added", n, at=NOW, text=WRONG)
    assert happened_at(state, entry) == when and entry.at == NOW
    assert retime.describe() == f"Retimed #{n}: happened at 09:02:00 UTC; reason: graph says so"
    # decisions may be retimed (decided on the call before they were typed), never amended
    state, _ = act(state, who, "entry_retimed", entry=seqs["decision"],
                   happened_at=when.isoformat(), reason="decided on the bridge")  # fmt: skip
    assert seqs["decision"] in state.retimes


@pytest.mark.parametrize("who", ["bo", "cy", "dee", "olly", GUEST])
def test_retiming_is_refused_to_everyone_else_even_the_author(who: str) -> None:
    state, seqs = with_entries()
    code = refusal(state, who, "entry_retimed", entry=seqs["finding"],
                   happened_at=T0.isoformat(), reason="r")  # fmt: skip
    assert code == "forbidden"
    assert state.retimes == {}


def test_a_retime_is_not_in_the_future_nor_of_a_hub_event() -> None:
    state, seqs = with_entries()
    n = seqs["finding"]
    future = (NOW + NOTED_SKEW + timedelta(minutes=1)).isoformat()
    assert refusal(state, "sam", "entry_retimed", entry=n, happened_at=future, reason="r") == (
        "invalid"
    )
    naive = "2026-03-14T09:00:00"
    assert refusal(state, "sam", "entry_retimed", entry=n, happened_at=naive, reason="r") == (
        "invalid"
    )
    ancient = (T0 - timedelta(days=30)).isoformat()
    assert refusal(state, "sam", "entry_retimed", entry=n, happened_at=ancient, reason="r") == (
        "invalid"
    )
    assert refusal(state, "sam", "entry_retimed", entry=seqs["joined"],
                   happened_at=T0.isoformat(), reason="r") == "not_amendable"  # fmt: skip


# --- noted_at -----------------------------------------------------------------------------------
def test_noted_at_is_kept_beside_the_hubs_at_and_shown_when_they_differ() -> None:
    state = crew()
    typed = NOW - timedelta(seconds=47)
    state, note = act(state, "bo", "note_added", text="failover done", noted_at=typed.isoformat())
    assert note.noted_at == typed and note.at == NOW
    assert note.payload()["noted_at"] == typed.isoformat().replace("+00:00", "Z")
    assert typed_note(note) == "◷ typed 09:19:13, received 09:20:00"
    assert happened_at(state, note) == typed
    close = note.model_copy(update={"noted_at": NOW - timedelta(seconds=3)})
    assert typed_note(close) == ""  # a few seconds apart: one time is enough
    ahead = note.model_copy(update={"noted_at": NOW + timedelta(minutes=3)})
    assert typed_note(ahead) == ""  # typed "after" it was received: a clock running ahead
    assert happened_at(state, ahead) == NOW


def test_an_event_without_noted_at_keeps_the_shape_it_always_had() -> None:
    note = NoteAdded(text="x")
    assert "noted_at" not in note.model_dump(mode="json")
    assert "noted_at" not in note.command_body()


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (NOTED_SKEW - timedelta(seconds=1), True),
        (NOTED_SKEW + timedelta(seconds=1), False),
        (-NOTED_MAX_AGE + timedelta(minutes=1), True),
        (-NOTED_MAX_AGE - timedelta(minutes=1), False),
    ],
)
def test_noted_at_far_in_the_future_or_absurdly_old_is_refused_with_a_clear_error(
    offset: timedelta, ok: bool
) -> None:
    state = crew()
    draft = make_event("note_added", 0, text="x", noted_at=(NOW + offset).isoformat())
    found = check_command(state, draft, Actor(name="bo"), NOW)
    if ok:
        assert found is None
    else:
        assert found is not None and found.code == "invalid"
        assert "clock" in found.message


def test_a_naive_noted_at_is_refused() -> None:
    state = crew()
    draft = make_event("note_added", 0, text="x", noted_at="2026-03-14T09:19:00")
    found = check_command(state, draft, Actor(name="bo"), NOW)
    assert found is not None and "time zone" in found.message


# --- the state keeps nothing per entry ---------------------------------------------------------
def test_the_state_does_not_grow_with_the_number_of_notes() -> None:
    """A joining console receives the state: it must not carry an index of every entry."""
    state = crew()
    sizes = []
    for count in (10, 1000):
        current = state
        for seq in range(state.seq + 1, state.seq + 1 + count):
            note = make_event("note_added", seq, actor="bo", role="responder", text=f"n{seq}")
            current = apply(current, note)
        sizes.append(len(current.model_dump_json()))
    assert sizes[1] - sizes[0] < 16  # only the digits of seq differ


def test_the_named_entrys_type_and_author_come_from_the_log_never_from_the_sender() -> None:
    state, seqs = with_entries()
    forged = make_event(
        "entry_amended", 0, entry=seqs["finding"], text=RIGHT, reason="r",
        entry_type="note_added", entry_author="cy",
    )  # fmt: skip
    stamped = name_entry(forged, logged(state, seqs["finding"]))
    assert (stamped.entry_type, stamped.entry_author) == ("note_added", "bo")
    assert check_command(state, stamped, Actor(name="cy"), NOW) is not None  # cy did not write it
    nothing = name_entry(forged, None)
    assert (nothing.entry_type, nothing.entry_author) == ("", "")
    found = check_command(state, nothing, Actor(name="cy"), NOW)
    assert found is not None and found.code == "unknown_entry"
    assert "entry_type" not in stamped.command_body()  # a console never sends them


def test_noted_at_is_measured_from_the_records_last_time_when_the_hubs_clock_is_behind_it() -> None:
    """The hub never stamps a time before the incident's last one; a console whose clock agrees
    with the record is not "in the future" because the hub's own clock went back."""
    state, _ = act(crew(), "bo", "note_added", text="late", now=NOW + timedelta(hours=2))
    noted = NOW + timedelta(hours=2)
    draft = make_event("note_added", 0, text="x", noted_at=noted.isoformat())
    assert check_command(state, draft, Actor(name="bo"), NOW) is None
    too_far = make_event("note_added", 0, text="x", noted_at=(noted + NOTED_SKEW * 2).isoformat())
    assert check_command(state, too_far, Actor(name="bo"), NOW) is not None
