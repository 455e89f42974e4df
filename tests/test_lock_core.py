"""The production lock and production actions as pure rules and folds, without any network."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.helpers import T0, make_event
from warroom.core.events import Actor
from warroom.core.fold import apply, replay
from warroom.core.lock import (
    expiry_id,
    fence,
    lease_expiry,
    lock_summary,
    mm_ss,
    renewal_due,
)
from warroom.core.log import EventError, parse_event
from warroom.core.production import GrantVia, LeaseEnd
from warroom.core.roles import Role
from warroom.core.rules import check_command
from warroom.core.timers import due

TTL = timedelta(minutes=10)


class Room:
    """A folded incident that events are appended to, stamped as the hub would stamp them."""

    def __init__(self) -> None:
        self.state = replay(
            [
                make_event("incident_declared", 1, title="Checkout 500s", severity="SEV2"),
                make_event("participant_joined", 2, name="ana", seat="ic"),
                make_event("participant_joined", 3, actor="bo", name="bo", seat="responder"),
                make_event("participant_joined", 4, actor="cy", name="cy", seat="responder"),
                make_event("participant_joined", 5, actor="dee", name="dee", seat="responder"),
                make_event("participant_joined", 6, actor="obs", name="obs", seat="observer"),
            ]
        )

    def check(self, type_: str, actor: str, at=T0, **payload):
        draft = parse_event(
            {"type": type_, "id": str(uuid.uuid4()), "incident_id": "inc-test", **payload}
        )
        return check_command(self.state, draft, Actor(name=actor), at)

    def do(self, type_: str, actor: str, at=T0, **payload):
        """Check like the hub, then fold; fail the test if the hub would refuse."""
        refusal = self.check(type_, actor, at, **payload)
        assert refusal is None, refusal
        self.state = apply(
            self.state, make_event(type_, self.state.seq + 1, actor=actor, at=at, **payload)
        )
        return self.state


def test_request_grants_a_free_lock_and_queues_the_rest_in_order():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    lock = room.do("lock_requested", "dee").lock
    assert lock.holder == "bo" and lock.token == 1
    assert lock.granted_at == T0 and lock.expires_at == T0 + TTL
    assert lock.queue == ("cy", "dee")
    assert lock.position("dee") == 2
    assert room.check("lock_requested", "bo").code == "already_holder"
    assert room.check("lock_requested", "cy").code == "already_queued"
    assert room.check("lock_requested", "obs").code == "forbidden"


def test_release_passes_the_lock_down_the_queue_with_a_growing_token():
    room = Room()
    for name in ("bo", "cy", "dee"):
        room.do("lock_requested", name)
    later = T0 + timedelta(minutes=3)
    lock = room.do("lock_released", "bo", at=later, token=1, note="rolled back").lock
    assert lock.holder == "cy" and lock.token == 2 and lock.queue == ("dee",)
    assert lock.granted_at == later and lock.expires_at == later + TTL
    first, second = lock.grants
    assert (first.ended, first.ended_at, first.reason) == (LeaseEnd.RELEASED, later, "rolled back")
    assert (second.holder, second.via, second.by) == ("cy", GrantVia.QUEUE, "bo")
    room.do("lock_released", "cy", token=2)
    lock = room.do("lock_released", "dee", token=3).lock
    assert lock.free and lock.token == 3 and lock.queue == ()
    # A free lock keeps its last token, so the next grant can never reuse an old one.
    assert room.do("lock_requested", "bo").lock.token == 4


def test_only_the_holder_releases_and_only_with_the_current_token():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    assert room.check("lock_released", "cy", token=1).code == "not_holder"
    assert room.check("lock_released", "bo", token=7).code == "stale_token"


def test_leaving_the_queue():
    room = Room()
    for name in ("bo", "cy", "dee"):
        room.do("lock_requested", name)
    assert room.do("lock_withdrawn", "cy").lock.queue == ("dee",)
    assert room.check("lock_withdrawn", "cy").code == "not_queued"
    assert room.do("lock_released", "bo", token=1).lock.holder == "dee"


def test_renewal_extends_the_lease_from_now_and_is_offered_near_the_end():
    room = Room()
    room.do("lock_requested", "bo")
    assert not renewal_due(room.state, "bo", T0 + timedelta(minutes=7))
    assert renewal_due(room.state, "bo", T0 + timedelta(minutes=8))
    assert not renewal_due(room.state, "cy", T0 + timedelta(minutes=8))
    at = T0 + timedelta(minutes=9)
    lock = room.do("lock_renewed", "bo", at=at, token=1).lock
    assert lock.expires_at == at + TTL and lock.renewals == 1 and lock.token == 1
    assert room.check("lock_renewed", "cy", at=at, token=1).code == "not_holder"
    # Past the deadline the hub refuses a renewal even before the expiry is recorded.
    assert room.check("lock_renewed", "bo", at=at + TTL, token=1).code == "lease_expired"


def test_lease_expiry_is_due_at_the_deadline_once_and_passes_the_lock_on():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    deadline = T0 + TTL
    assert lease_expiry(room.state, deadline - timedelta(seconds=1)) == []
    [expiry] = [e for e in due(room.state, deadline) if e.type.startswith("lock_")]
    assert expiry.type == "lock_expired" and expiry.hub_only
    assert (expiry.token, expiry.holder) == (1, "bo")
    assert expiry.id == expiry_id("inc-test", 1) == lease_expiry(room.state, deadline)[0].id
    room.state = apply(
        room.state,
        make_event(
            "lock_expired",
            room.state.seq + 1,
            actor="warroom",
            role="hub",
            at=deadline,
            token=1,
            holder="bo",
        ),
    )
    lock = room.state.lock
    assert lock.holder == "cy" and lock.token == 2 and lock.expires_at == deadline + TTL
    assert lock.grants[0].ended == LeaseEnd.EXPIRED
    assert lease_expiry(room.state, deadline) == []
    # Clients cannot record an expiry themselves.
    assert room.check("lock_expired", "cy", token=2, holder="cy").code == "hub_only"


def test_an_expiry_of_an_older_lease_changes_nothing():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_released", "bo", token=1)
    room.do("lock_requested", "cy")
    before = room.state
    after = apply(
        before,
        make_event(
            "lock_expired", before.seq + 1, actor="warroom", role="hub", token=1, holder="bo"
        ),
    )
    assert after.lock == before.lock


def test_the_ic_force_releases_with_a_reason_and_hands_over():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    room.do("lock_requested", "dee")
    assert room.check("lock_force_released", "cy", token=1, reason="x").code == "forbidden"
    assert room.check("lock_handed_over", "bo", token=1, to="cy").code == "forbidden"
    # A reason left out or blank is refused by the rule (reason_required), as for every event
    # that needs one, not by the schema.
    assert room.check("lock_force_released", "ana", token=1).code == "reason_required"
    assert room.check("lock_force_released", "ana", token=1, reason="  ").code == "reason_required"
    assert room.check("lock_force_released", "ana", token=0, reason="x").code == "stale_token"
    lock = room.do("lock_force_released", "ana", token=1, reason="bo is unreachable").lock
    assert lock.holder == "cy" and lock.token == 2 and lock.queue == ("dee",)
    assert lock.grants[0].ended == LeaseEnd.FORCED
    assert lock.grants[0].reason == "bo is unreachable" and lock.grants[0].ended_by == "ana"

    assert room.check("lock_handed_over", "ana", token=2, to="nobody").code == (
        "unknown_participant"
    )
    assert room.check("lock_handed_over", "ana", token=2, to="obs").code == "forbidden"
    assert room.check("lock_handed_over", "ana", token=2, to="cy").code == "already_holder"
    lock = room.do("lock_handed_over", "ana", token=2, to="dee", reason="dee owns the db").lock
    assert lock.holder == "dee" and lock.token == 3 and lock.queue == ()
    assert lock.grants[1].ended == LeaseEnd.HANDED_OVER
    assert (lock.grants[2].via, lock.grants[2].by) == (GrantVia.HANDOVER, "ana")
    room.do("lock_released", "dee", token=3)
    assert room.check("lock_force_released", "ana", token=3, reason="x").code == "lock_free"
    assert room.do("lock_handed_over", "ana", token=3, to="bo").lock.holder == "bo"


def test_fence_refuses_anyone_but_the_live_holder_with_the_live_token():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    assert fence(room.state, "bo", 1, T0) is None
    assert fence(room.state, "cy", 1, T0).code == "not_holder"
    assert fence(room.state, "bo", 2, T0).code == "stale_token"
    assert fence(room.state, "bo", 1, T0 + TTL).code == "lease_expired"
    room.do("lock_released", "bo", token=1)
    stale = fence(room.state, "bo", 1, T0)
    assert stale.code == "stale_token" and "released" in stale.message


ACTION = {
    "kind": "rollback",
    "target": "checkout-api",
    "expected": "5xx back under 1%",
    "metric": "checkout 5xx rate",
    "value_before": "12%",
}


def test_only_the_holder_starts_an_action_under_the_current_token():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    assert room.check("action_started", "cy", token=1, **ACTION).code == "not_holder"
    assert room.check("action_started", "bo", token=9, **ACTION).code == "stale_token"
    assert room.check("action_started", "ana", token=1, **ACTION).code == "not_holder"
    late = T0 + TTL
    assert room.check("action_started", "bo", at=late, token=1, **ACTION).code == "lease_expired"
    assert room.check("action_started", "bo", token=1, **{**ACTION, "metric": " "}).code == (
        "invalid"
    )
    with pytest.raises(EventError):
        parse_event(
            {
                "type": "action_started",
                "id": str(uuid.uuid4()),
                "token": 1,
                **{**ACTION, "kind": "pray"},
            }
        )
    state = room.do("action_started", "bo", token=1, **ACTION)
    [action] = state.actions.values()
    assert (action.by, action.token, action.kind, action.value_before) == (
        "bo",
        1,
        "rollback",
        "12%",
    )
    assert action.open and not action.wants_undo


def test_finishing_an_action_that_did_not_help_asks_for_an_undo():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    room.do("action_started", "bo", token=1, **ACTION)
    [action_id] = room.state.actions
    finish = {"action_id": action_id, "value_after": "12%", "outcome": "no_change"}
    assert room.check("action_finished", "cy", **finish).code == "forbidden"
    undo_too_soon = room.check("action_started", "bo", token=1, undoes=action_id, **ACTION)
    assert undo_too_soon.code == "action_open"
    action = room.do("action_finished", "bo", **finish).actions[action_id]
    assert not action.open and action.wants_undo and action.outcome.label == "no change"
    assert room.check("action_finished", "bo", **finish).code == "already_finished"

    undo = room.do(
        "action_started",
        "bo",
        token=1,
        undoes=action_id,
        **{**ACTION, "expected": "back to the deploy we rolled back"},
    )
    original = undo.actions[action_id]
    assert original.undone_by is not None and not original.wants_undo
    assert undo.actions[str(original.undone_by)].undoes == original.id
    assert room.check("action_started", "bo", token=1, undoes=action_id, **ACTION).code == (
        "already_undone"
    )


def test_the_next_holder_may_record_an_action_left_open():
    room = Room()
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    room.do("action_started", "bo", token=1, **ACTION)
    [action_id] = room.state.actions
    room.do("lock_released", "bo", token=1)
    finish = {"action_id": action_id, "value_after": "0.4%", "outcome": "helped"}
    assert room.check("action_finished", "dee", **finish).code == "forbidden"
    assert room.do("action_finished", "cy", **finish).actions[action_id].finished_by == "cy"


def test_lock_folds_are_pure():
    room = Room()
    before = room.state
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    middle = room.state
    room.do("lock_released", "bo", token=1)
    assert before.lock.free and before.lock.grants == ()
    assert middle.lock.holder == "bo" and middle.lock.queue == ("cy",)
    assert room.state.lock.holder == "cy"


def test_lock_summary_for_the_status_bar():
    room = Room()
    assert lock_summary(room.state, T0) == "lock free"
    room.do("lock_requested", "bo")
    room.do("lock_requested", "cy")
    room.state = apply(
        room.state, make_event("participant_left", room.state.seq + 1, actor="bo", name="bo")
    )
    assert lock_summary(room.state, T0 + timedelta(minutes=4, seconds=5)) == (
        "lock bo (offline) 4m · 05:55 left · 1 waiting"
    )


def test_every_lock_event_reads_on_the_timeline():
    e = make_event("lock_force_released", 9, token=3, reason="bo is asleep")
    assert e.describe() == "ana force-released the production lock (token 3): bo is asleep"
    assert e.entry_kind() == "lock"
    started = make_event("action_started", 10, actor="bo", role=Role.RESPONDER, token=3, **ACTION)
    assert started.entry_kind() == "action"
    assert started.describe() == (
        "rollback checkout-api (token 3); expect: 5xx back under 1%; checkout 5xx rate before: 12%"
    )
    finished = make_event(
        "action_finished", 11, action_id=str(started.id), value_after="18%", outcome="made_worse"
    )
    assert finished.describe() == "Action result: made it worse; value after: 18%"


@pytest.mark.parametrize(
    ("left", "shown"),
    [
        (timedelta(minutes=5, seconds=55), "05:55"),
        (timedelta(minutes=59, seconds=59), "59:59"),
        (timedelta(hours=1), "1h00m"),
        (timedelta(hours=3, minutes=59, seconds=30), "3h59m"),
        (timedelta(seconds=-5), "00:00"),
    ],
)
def test_a_lease_countdown_past_an_hour_reads_in_hours(left: timedelta, shown: str) -> None:
    """Leases last up to 4 hours (``[lock] ttl_minutes``); the lock pane read ``ends in
    239:30``, the status bar's update countdown already read ``3h59m``."""
    assert mm_ss(left) == shown
