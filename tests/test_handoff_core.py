"""Handoff rules and folds, checked and folded exactly as the hub does, without a network."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.board_room import NOW, act, refusal, room
from tests.helpers import make_event
from warroom.core.briefing import build_briefing
from warroom.core.fold import apply
from warroom.core.handoff import (
    HandoffExpired,
    RotationDue,
    expiry_id,
    offer_to,
    rotation_suggested,
)
from warroom.core.handoff_state import OfferEnd, Section
from warroom.core.roles import Role
from warroom.core.state import IncidentState
from warroom.core.timers import TIMERS


def due(state: IncidentState, now) -> list:
    """The handoff events the hub's timers would record at ``now`` (other features' left out)."""
    return [
        e for fn in TIMERS for e in fn(state, now) if isinstance(e, HandoffExpired | RotationDue)
    ]


def one_ic(state: IncidentState) -> str:
    """The IC, asserting there is exactly one (the role map cannot hold two; never none)."""
    holders = [p for p in state.participants if state.is_ic(p)]
    assert state.ic is not None and len(holders) <= 1
    return state.ic


def offer(state: IncidentState, who: str = "ana", to: str = "bo", role: Role = Role.IC, **kw):
    return act(
        state,
        who,
        "handoff_offered",
        offered_role=role,
        to=to,
        briefing=build_briefing(state, role).model_dump(mode="json"),
        **kw,
    )


def answer(state: IncidentState, who: str, kind: str, role: Role = Role.IC, now=NOW, **kw):
    pending = state.offers[role]
    return act(
        state,
        who,
        kind,
        now=now,
        offer=str(pending.id),
        offered_role=role,
        outgoing=pending.outgoing,
        incoming=pending.incoming,
        **kw,
    )


def test_offer_then_accept_moves_the_role_in_one_event_with_the_briefing_kept():
    state = room()
    assert one_ic(state) == "ana"
    state, offered = offer(state, notes="watch the DB pool; roll back if 5xx > 20%")
    assert one_ic(state) == "ana"  # the outgoing IC stays IC until acceptance
    pending = state.offers[Role.IC]
    assert (pending.outgoing, pending.incoming, pending.id) == ("ana", "bo", offered.id)
    assert pending.briefing == build_briefing(room(), Role.IC)
    assert pending.expires_at == NOW + state.settings.handoff_ttl
    assert offer_to(state, "bo") == pending and offer_to(state, "cy") is None
    assert offered.describe() == (
        "ana offered the incident commander role to bo; notes: watch the DB pool; roll back "
        "if 5xx > 20% (briefing: nothing on the board yet)"
    )

    later = NOW + timedelta(minutes=1)
    state, accepted = answer(state, "bo", "handoff_accepted", now=later)
    assert one_ic(state) == "bo" and state.roles[Role.IC].since == later
    assert state.offers == {}
    assert state.roles_of("ana") == [] and state.roles_of("bo") == [Role.IC]
    assert (
        accepted.describe() == "bo accepted the incident commander role from ana and holds it now"
    )


def test_decline_and_withdraw_leave_the_outgoing_ic_in_charge():
    state, _ = offer(room())
    declined, ev = answer(state, "bo", "handoff_declined", reason="I am on the DB pool")
    assert one_ic(declined) == "ana" and declined.offers == {}
    assert (
        ev.describe()
        == "bo declined the incident commander role; ana keeps it: I am on the DB pool"
    )
    withdrawn, ev = answer(state, "ana", "handoff_withdrawn")
    assert one_ic(withdrawn) == "ana" and withdrawn.offers == {}
    assert "withdrew" in ev.describe()


@pytest.mark.parametrize(
    ("who", "to", "code"),
    [
        ("bo", "cy", "forbidden"),  # only the IC hands the IC role over
        ("ana", "ana", "invalid"),
        ("ana", "zed", "unknown_participant"),
        ("ana", "olly", "forbidden"),  # observers hold no role
    ],
)
def test_bad_offers_are_refused(who, to, code):
    state = room()
    assert refusal(state, who, "handoff_offered", offered_role="ic", to=to) == code


def test_an_offer_to_someone_offline_is_refused():
    state = apply(room(), make_event("participant_left", 8, actor="bo", name="bo"))
    assert refusal(state, "ana", "handoff_offered", offered_role="ic", to="bo") == "offline"


def test_one_open_offer_per_role_and_a_stale_briefing_is_refused():
    state = room()
    old_briefing = build_briefing(state).model_dump(mode="json")
    state, _ = act(state, "dee", "board_item_added", kind="fact", text="EU only")
    assert (
        refusal(state, "ana", "handoff_offered", offered_role="ic", to="bo", briefing=old_briefing)
        == "briefing_stale"
    )
    state, _ = offer(state)
    assert refusal(state, "ana", "handoff_offered", offered_role="ic", to="cy") == "offer_pending"


def test_only_the_named_person_answers_and_only_while_the_offer_is_open():
    state, _ = offer(room())
    pending = state.offers[Role.IC]
    base = {"offer": str(pending.id), "offered_role": "ic", "outgoing": "ana", "incoming": "bo"}
    assert refusal(state, "cy", "handoff_accepted", **base) == "forbidden"
    assert refusal(state, "bo", "handoff_withdrawn", **base) == "forbidden"
    assert refusal(state, "bo", "handoff_accepted", **{**base, "incoming": "cy"}) == "invalid"
    # Past the deadline by the hub's clock, even before the lapse is recorded.
    deadline = pending.expires_at
    assert refusal(state, "bo", "handoff_accepted", now=deadline, **base) == "offer_expired"
    withdrawn, _ = answer(state, "ana", "handoff_withdrawn")
    assert refusal(withdrawn, "bo", "handoff_accepted", **base) == "no_offer"


def test_an_unanswered_offer_lapses_once_by_the_hub_timer():
    state, _ = offer(room())
    pending = state.offers[Role.IC]
    assert due(state, pending.expires_at - timedelta(seconds=1)) == []
    drafts = due(state, pending.expires_at)
    assert len(drafts) == 1 and isinstance(drafts[0], HandoffExpired)
    assert drafts[0].id == expiry_id(state.incident_id, pending.id)
    assert due(state, pending.expires_at)[0].id == drafts[0].id  # deterministic
    lapsed = apply(
        state,
        drafts[0].model_copy(
            update={
                "seq": state.seq + 1,
                "at": pending.expires_at,
                "actor": "warroom",
                "role": Role.HUB,
            }
        ),
    )
    assert one_ic(lapsed) == "ana" and lapsed.offers == {}
    assert due(lapsed, pending.expires_at + timedelta(hours=1)) == []
    assert "lapsed unanswered; ana keeps the role" in drafts[0].describe()


def test_reassigning_a_role_ends_its_open_offer():
    state = room()
    state, _ = offer(state, who="dee", to="bo", role=Role.LEAD)
    assert Role.LEAD in state.offers
    state, _ = act(state, "ana", "role_assigned", assigned_role="lead", holder="cy")
    assert state.offers == {} and state.holder(Role.LEAD) == "cy"


def test_other_roles_hand_over_the_same_way_with_a_shorter_briefing():
    state = room()
    assert refusal(state, "bo", "handoff_offered", offered_role="lead", to="cy") == "forbidden"
    state, _ = offer(state, who="dee", to="bo", role=Role.LEAD)
    briefing = state.offers[Role.LEAD].briefing
    assert briefing.role == Role.LEAD and Section.COMMS not in briefing.sections
    state, _ = answer(state, "bo", "handoff_accepted", role=Role.LEAD)
    assert state.holder(Role.LEAD) == "bo" and one_ic(state) == "ana"


def test_a_person_may_hold_several_roles_and_keeps_the_others_on_handoff():
    state = room()
    state, _ = act(state, "ana", "role_assigned", assigned_role="scribe", holder="ana")
    assert state.roles_of("ana") == [Role.IC, Role.SCRIBE]
    state, _ = offer(state)
    state, _ = answer(state, "bo", "handoff_accepted")
    assert state.roles_of("ana") == [Role.SCRIBE] and state.roles_of("bo") == [Role.IC]


def test_ic_can_be_claimed_only_when_the_room_has_no_ic_in_it():
    state = room()
    assert refusal(state, "bo", "ic_claimed", previous="ana") == "ic_present"
    assert refusal(state, "ana", "ic_claimed", previous="ana") == "already_ic"
    gone = apply(state, make_event("participant_left", 8, actor="ana", name="ana"))
    assert refusal(gone, "olly", "ic_claimed", previous="ana") == "forbidden"
    assert refusal(gone, "bo", "ic_claimed", previous=None) == "ic_changed"
    claimed, ev = act(gone, "bo", "ic_claimed", previous="ana", reason="ana dropped off")
    assert one_ic(claimed) == "bo"
    assert (
        ev.describe() == "bo claimed the incident commander role (ana was offline): ana dropped off"
    )
    # cy saw ana as IC too: the first claim wins, the second no longer matches.
    assert refusal(claimed, "cy", "ic_claimed", previous="ana") == "ic_changed"


def test_a_claim_ends_an_open_ic_offer():
    state, _ = offer(room())
    gone = apply(state, make_event("participant_left", state.seq + 1, actor="ana", name="ana"))
    claimed, _ = act(gone, "cy", "ic_claimed", previous="ana")
    assert claimed.offers == {} and one_ic(claimed) == "cy"


def test_rotation_is_suggested_once_per_holding_after_the_configured_time():
    state = room()
    since = state.roles[Role.IC].since
    after = state.settings.ic_rotation
    assert after == timedelta(hours=3)
    assert due(state, since + after - timedelta(seconds=1)) == []
    drafts = due(state, since + after)
    assert [type(d) for d in drafts] == [RotationDue]
    hinted = apply(
        state,
        drafts[0].model_copy(
            update={"seq": state.seq + 1, "at": since + after, "actor": "warroom", "role": Role.HUB}
        ),
    )
    assert rotation_suggested(hinted, Role.IC)
    assert due(hinted, since + after + timedelta(hours=1)) == []
    assert drafts[0].describe() == (
        "ana has been incident commander for 3h: time to hand it over to someone fresh"
    )
    # Once the role moves, the hint no longer applies and the new holder's clock starts.
    handover = since + after + timedelta(minutes=5)
    moved, _ = offer(hinted, now=handover)
    moved, _ = answer(moved, "bo", "handoff_accepted", now=handover)
    assert not rotation_suggested(moved, Role.IC)
    assert due(moved, since + after + timedelta(hours=1)) == []
    assert [d.holder for d in due(moved, since + 2 * after + timedelta(minutes=5))] == ["bo"]


def test_how_an_offer_ended_is_part_of_the_folded_state():
    """Accepted, declined, withdrawn, lapsed, superseded by a claim or by an assignment: each
    ending is kept under the offer's id, with the line of the event that ended it."""
    state, made = offer(room())
    assert state.ended_offers == {}

    accepted, ev = answer(state, "bo", "handoff_accepted")
    declined, dev = answer(state, "bo", "handoff_declined", reason="busy")
    withdrawn, wev = answer(state, "ana", "handoff_withdrawn")
    pending = state.offers[Role.IC]
    [expiry] = due(state, pending.expires_at)
    lapsed = apply(
        state,
        expiry.model_copy(
            update={
                "seq": state.seq + 1,
                "at": pending.expires_at,
                "actor": "warroom",
                "role": Role.HUB,
            }
        ),  # fmt: skip
    )
    gone = apply(state, make_event("participant_left", state.seq + 1, actor="ana", name="ana"))
    claimed, cev = act(gone, "cy", "ic_claimed", previous="ana")
    for after, how, by, line in (
        (accepted, OfferEnd.ACCEPTED, "bo", ev.describe()),
        (declined, OfferEnd.DECLINED, "bo", dev.describe()),
        (withdrawn, OfferEnd.WITHDRAWN, "ana", wev.describe()),
        (lapsed, OfferEnd.LAPSED, "warroom", expiry.describe()),
        (claimed, OfferEnd.SUPERSEDED, "cy", cev.describe()),
    ):
        ending = after.ended_offers[made.id]
        assert (ending.how, ending.by, ending.line) == (how, by, line)
        assert (ending.outgoing, ending.incoming, ending.role) == ("ana", "bo", Role.IC)
        assert after.offers == {}

    lead, lead_offer = offer(room(), who="dee", to="bo", role=Role.LEAD)
    reassigned, rev = act(lead, "ana", "role_assigned", assigned_role="lead", holder="cy")
    ending = reassigned.ended_offers[lead_offer.id]
    assert (ending.how, ending.line) == (OfferEnd.SUPERSEDED, rev.describe())
    # An assignment of another role leaves the offer open and records no ending.
    other, _ = act(lead, "ana", "role_assigned", assigned_role="scribe", holder="cy")
    assert other.ended_offers == {} and Role.LEAD in other.offers
