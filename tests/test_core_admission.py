"""Admission as core policy: who comes in, in which seat, and what their arrival records.

Pure: states are folded from stamped events, decisions are plain function calls; no hub.
"""

from __future__ import annotations

from tests.helpers import T0, make_event
from warroom.core.access import GuestAdmitted
from warroom.core.admission import (
    Admission,
    Entrant,
    arrival,
    departure,
    guest_seat_refusal,
    join_refusal,
    presence_repair,
)
from warroom.core.events import EventBase
from warroom.core.fold import apply, replay
from warroom.core.incident import ParticipantJoined, ParticipantLeft, RoleAssigned
from warroom.core.roles import Role
from warroom.core.state import IncidentState

CODE = "0a1b2c3d"
OBSERVERS = "4e5f6a7b"
REVOKED = "8c9d0e1f"
DIGEST = "0" * 64


def incident() -> IncidentState:
    """ana leads (IC), bo is the scribe; three join codes, one of them revoked."""
    return replay(
        [
            make_event("incident_declared", 1, title="Checkout 500s", severity="SEV2"),
            make_event("participant_joined", 2, name="ana", seat="ic"),
            make_event("participant_joined", 3, actor="bo", name="bo", seat="scribe"),
            make_event("role_assigned", 4, assigned_role="scribe", holder="bo"),
            make_event("join_code_created", 5, code_id=CODE, digest=DIGEST),
            make_event(
                "join_code_created", 6, code_id=OBSERVERS, digest=DIGEST, seat_limit="observer"
            ),
            make_event("join_code_created", 7, code_id=REVOKED, digest=DIGEST),
            make_event("join_code_revoked", 8, code_id=REVOKED),
        ]
    )


def written(state: IncidentState, admission: Admission, actor: str) -> IncidentState:
    """The state after the hub stores ``admission``'s events (stamped as the writer does)."""
    for draft in admission.events:
        event = draft.model_copy(
            update={
                "incident_id": state.incident_id,
                "seq": state.seq + 1,
                "at": T0,
                "actor": actor,
                "role": Role.RESPONDER,
            }
        )
        state = apply(state, event)
    return state


def kinds(events: tuple[EventBase, ...]) -> list[type[EventBase]]:
    return [type(e) for e in events]


def guest(name: str, seat: Role = Role.RESPONDER, code: str = CODE, **kw: object) -> Entrant:
    return Entrant(name=name, seat=seat, guest=True, code_id=code, code_incident="inc-test", **kw)  # type: ignore[arg-type]


# --- seats --------------------------------------------------------------------------------------
def test_a_vacant_held_seat_is_taken_on_arrival_with_presence_in_one_batch():
    admitted = arrival(incident(), Entrant(name="cy", seat=Role.COMMS))
    assert kinds(admitted.events) == [ParticipantJoined, RoleAssigned]
    joined, seat = admitted.events
    assert isinstance(joined, ParticipantJoined) and joined.name == "cy"
    assert joined.seat == Role.COMMS
    assert isinstance(seat, RoleAssigned)
    assert seat.assigned_role == Role.COMMS and seat.holder == "cy"
    assert admitted.notice is None


def test_a_held_seat_someone_else_holds_leaves_the_entrant_a_responder_and_says_who():
    admitted = arrival(incident(), Entrant(name="cy", seat=Role.SCRIBE))
    assert kinds(admitted.events) == [ParticipantJoined]
    assert admitted.notice is not None and admitted.notice.code == "seat_taken"
    assert "held by bo" in admitted.notice.message


def test_the_holder_coming_back_takes_nothing_and_is_told_nothing():
    admitted = arrival(incident(), Entrant(name="bo", seat=Role.SCRIBE))
    assert kinds(admitted.events) == [ParticipantJoined] and admitted.notice is None


def test_a_responder_only_records_presence():
    admitted = arrival(incident(), Entrant(name="cy", seat=Role.RESPONDER))
    assert kinds(admitted.events) == [ParticipantJoined] and admitted.notice is None


def test_of_two_asking_for_one_seat_at_once_the_second_decided_at_write_time_loses():
    """Both asked while the seat was vacant; the writer decides each against the state as it
    is when it writes, so only the first is given the seat."""
    asked = incident()
    first, second = Entrant(name="cy", seat=Role.COMMS), Entrant(name="dee", seat=Role.COMMS)
    assert RoleAssigned in kinds(arrival(asked, second).events)  # what it saw when it asked
    state = written(asked, arrival(asked, first), "cy")
    late = arrival(state, second)
    assert kinds(late.events) == [ParticipantJoined]
    assert late.notice is not None and "held by cy" in late.notice.message
    state = written(state, late, "dee")
    assert state.holder(Role.COMMS) == "cy"
    assert state.participants["dee"].online


# --- guests -------------------------------------------------------------------------------------
def test_a_guest_is_admitted_once_per_code_then_only_their_presence_is_recorded():
    state = incident()
    first = arrival(state, guest("guest:vic"))
    assert kinds(first.events) == [GuestAdmitted, ParticipantJoined]
    admitted = first.events[0]
    assert isinstance(admitted, GuestAdmitted) and admitted.code_id == CODE
    state = written(state, first, "guest:vic")
    assert state.access.guests == {"guest:vic": CODE}
    assert kinds(arrival(state, guest("guest:vic")).events) == [ParticipantJoined]


def test_a_guest_joins_only_the_incident_of_a_live_code_in_a_seat_it_allows():
    state = incident()
    assert join_refusal(state, guest("guest:vic")) is None
    elsewhere = Entrant(
        name="guest:vic", seat=Role.RESPONDER, guest=True, code_id=CODE, code_incident="inc-x"
    )
    refusal = join_refusal(state, elsewhere)
    assert refusal is not None and refusal.code == "forbidden" and "inc-x only" in refusal.message
    refusal = join_refusal(state, guest("guest:vic", code=REVOKED))
    assert refusal is not None and refusal.message == "Your join code was revoked."
    refusal = join_refusal(state, guest("guest:vic", code="ffffffff"))
    assert refusal is not None and refusal.code == "forbidden"
    refusal = join_refusal(state, guest("guest:vic", code=OBSERVERS))
    assert refusal is not None and refusal.code == "forbidden" and "observer" in refusal.message
    assert join_refusal(state, guest("guest:vic", Role.OBSERVER, code=OBSERVERS)) is None


def test_a_guest_may_not_pass_for_a_member_even_when_rejoining():
    refusal = join_refusal(incident(), guest("guest:b\u043e"), rejoining=True)
    assert refusal is not None and refusal.code == "forbidden" and "member" in refusal.message


def test_a_guest_says_hello_only_with_a_live_code_in_a_seat_it_allows():
    state = incident()
    assert guest_seat_refusal(state, CODE, Role.RESPONDER) is None
    for code, seat in ((CODE, Role.IC), (OBSERVERS, Role.SCRIBE), (REVOKED, Role.RESPONDER)):
        refusal = guest_seat_refusal(state, code, seat)
        assert refusal is not None and refusal.code == "forbidden", (code, seat)
    assert guest_seat_refusal(state, OBSERVERS, Role.OBSERVER) is None


# --- names --------------------------------------------------------------------------------------
def test_a_look_alike_of_someone_in_the_incident_is_refused_unless_proven_or_rejoining():
    state = incident()
    refusal = join_refusal(state, Entrant(name="an\u0430", seat=Role.RESPONDER))  # Cyrillic a
    assert refusal is not None and refusal.code == "bad_name" and "'ana'" in refusal.message
    assert join_refusal(state, Entrant(name="an\u0430", seat=Role.RESPONDER, proven=True)) is None
    assert (
        join_refusal(state, Entrant(name="an\u0430", seat=Role.RESPONDER), rejoining=True) is None
    )
    assert join_refusal(state, Entrant(name="ana", seat=Role.IC)) is None  # the same person
    assert join_refusal(state, Entrant(name="cy", seat=Role.RESPONDER)) is None


def test_a_member_is_never_kept_out_by_a_guest_who_looks_like_them():
    state = written(incident(), arrival(incident(), guest("guest:dana")), "guest:dana")
    assert join_refusal(state, Entrant(name="dana", seat=Role.RESPONDER)) is None
    refusal = join_refusal(state, guest("guest:d\u0430na"))
    assert refusal is not None


# --- presence -----------------------------------------------------------------------------------
def test_departure_records_that_the_last_connection_closed():
    assert kinds(departure(incident(), "bo").events) == [ParticipantLeft]


def test_presence_repair_makes_the_record_match_who_is_connected():
    state = incident()
    assert presence_repair(state, "bo", Role.SCRIBE, connected=True).events == ()
    left = presence_repair(state, "bo", Role.SCRIBE, connected=False).events
    assert kinds(left) == [ParticipantLeft]
    state = written(state, Admission(left), "bo")
    assert presence_repair(state, "bo", Role.SCRIBE, connected=False).events == ()
    back = presence_repair(state, "bo", Role.SCRIBE, connected=True).events
    assert kinds(back) == [ParticipantJoined]
    assert presence_repair(state, "zed", Role.RESPONDER, connected=False).events == ()
