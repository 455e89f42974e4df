"""Checklists as pure rules and folds: each right refused for everyone without it and accepted
for someone with it, and a step that changes production done only as a production action."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.helpers import T0, make_event
from tests.test_lock_core import Room
from warroom.core.checklist import actions_for_step
from warroom.core.checklist_runbook import Runbook, matches, suggested
from warroom.core.checklist_state import StepStatus, progress_line

STEPS = [
    {"do": "Find the last good deploy", "command": "deploys list checkout-api", "role": "lead"},
    {"do": "Roll back checkout-api", "command": "deploy rollback", "changes_production": True},
    {"do": "Watch the error rate for five minutes"},
]
EVERYONE = ("ana", "bo", "cy", "dee", "obs")


class ChecklistRoom(Room):
    """ana is IC, bo the technical lead, cy and dee responders, obs an observer; C1 attached."""

    def __init__(self) -> None:
        super().__init__()
        self.do("role_assigned", "ana", assigned_role="lead", holder="bo")
        self.do("runbook_attached", "ana", runbook="roll-back", title="Roll back", steps=STEPS)


def allowed(room: Room, type_: str, **payload) -> set[str]:
    return {n for n in EVERYONE if room.check(type_, n, **payload) is None}


def test_only_the_ic_attaches_a_runbook_and_its_steps_are_copied_in():
    room = ChecklistRoom()
    payload = {"runbook": "shed-load", "title": "Shed load", "steps": STEPS[:1]}
    assert allowed(room, "runbook_attached", **payload) == {"ana"}
    assert room.check("runbook_attached", "bo", **payload).code == "forbidden"
    again = room.check("runbook_attached", "ana", runbook="roll-back", title="x", steps=STEPS)
    assert again.code == "already_attached"
    c1 = room.state.checklists[1]
    assert c1.label == "C1" and c1.attached_by == "ana" and c1.progress == "0/3"
    assert [s.no for s in c1.steps] == [1, 2, 3]
    assert c1.steps[1].changes_production and c1.steps[0].command == "deploys list checkout-api"


def test_anyone_who_writes_claims_a_step_and_only_the_ic_or_lead_takes_it_over():
    room = ChecklistRoom()
    assert allowed(room, "checklist_step_claimed", checklist=1, step=1) == {
        "ana",
        "bo",
        "cy",
        "dee",
    }
    room.do("checklist_step_claimed", "cy", checklist=1, step=1)
    step = room.state.checklists[1].step(1)
    assert step.status == StepStatus.CLAIMED and step.claimed_by == "cy"
    assert (
        room.check("checklist_step_claimed", "dee", checklist=1, step=1).code == "already_claimed"
    )
    assert room.check("checklist_step_claimed", "cy", checklist=1, step=1).code == "already_claimed"
    assert allowed(room, "checklist_step_claimed", checklist=1, step=1) == {"ana", "bo"}
    assert (
        room.check("checklist_step_claimed", "cy", checklist=2, step=1).code == "unknown_checklist"
    )
    assert room.check("checklist_step_claimed", "cy", checklist=1, step=9).code == "unknown_step"


def test_a_claimed_step_is_done_by_its_claimer_or_the_ic_or_lead():
    room = ChecklistRoom()
    room.do("checklist_step_claimed", "cy", checklist=1, step=1)
    assert allowed(room, "checklist_step_done", checklist=1, step=1) == {"ana", "bo", "cy"}
    assert room.check("checklist_step_done", "dee", checklist=1, step=1).code == "forbidden"
    room.do("checklist_step_done", "cy", checklist=1, step=1, note="build 812")
    step = room.state.checklists[1].step(1)
    assert (
        step.status == StepStatus.DONE and step.finished_by == "cy" and step.reason == "build 812"
    )
    assert room.check("checklist_step_done", "ana", checklist=1, step=1).code == "step_finished"
    # An unclaimed step: anyone who writes.
    assert allowed(room, "checklist_step_done", checklist=1, step=3) == {"ana", "bo", "cy", "dee"}


def test_skip_needs_the_ic_or_lead_and_a_reason():
    room = ChecklistRoom()
    assert allowed(room, "checklist_step_skipped", checklist=1, step=3, reason="no graphs") == {
        "ana",
        "bo",
    }
    assert room.check("checklist_step_skipped", "cy", checklist=1, step=3, reason="x").code == (
        "forbidden"
    )
    blank = room.check("checklist_step_skipped", "ana", checklist=1, step=3, reason="  ")
    assert blank.code == "reason_required"
    room.do("checklist_step_skipped", "bo", checklist=1, step=3, reason="dashboards are down")
    step = room.state.checklists[1].step(3)
    assert step.status == StepStatus.SKIPPED and step.reason == "dashboards are down"


def test_not_applicable_is_the_ic_or_leads_call():
    room = ChecklistRoom()
    assert allowed(room, "checklist_step_not_applicable", checklist=1, step=1) == {"ana", "bo"}
    room.do("checklist_step_not_applicable", "ana", checklist=1, step=1, reason="no deploy today")
    assert room.state.checklists[1].step(1).status == StepStatus.NOT_APPLICABLE
    assert room.state.checklists[1].progress == "1/3"
    assert progress_line(room.state.checklists) == "C1 Roll back: 1/3"


def test_adding_a_step_is_the_ic_or_leads_and_it_goes_at_the_end():
    room = ChecklistRoom()
    payload = {"checklist": 1, "do": "Purge the CDN", "changes_production": True}
    assert allowed(room, "checklist_step_added", **payload) == {"ana", "bo"}
    room.do("checklist_step_added", "bo", **payload)
    step = room.state.checklists[1].step(4)
    assert step.do == "Purge the CDN" and step.added_by == "bo" and step.changes_production
    assert room.check("checklist_step_added", "ana", checklist=7, do="x").code == (
        "unknown_checklist"
    )


def start_action(room: Room, actor: str, token: int) -> str:
    action_id = str(uuid.uuid4())
    room.do(
        "action_started",
        actor,
        id=action_id,
        token=token,
        kind="rollback",
        target="checkout-api",
        expected="errors back under 1%",
        metric="5xx rate",
        value_before="14%",
    )
    return action_id


def test_a_production_step_is_done_only_as_a_production_action_under_the_live_lease():
    room = ChecklistRoom()
    # Without an action, nobody may tick it, not even the IC.
    assert allowed(room, "checklist_step_done", checklist=1, step=2) == set()
    assert room.check("checklist_step_done", "ana", checklist=1, step=2).code == "production_step"
    room.do("lock_requested", "dee")
    action_id = start_action(room, "dee", token=1)
    done = {"checklist": 1, "step": 2, "action_id": action_id}
    # Only the one who made the action, holding the lease it was made under.
    assert allowed(room, "checklist_step_done", **done) == {"dee"}
    assert room.check("checklist_step_done", "cy", **done).code == "forbidden"
    # After the lease ends, the action no longer vouches for the step.
    later = T0 + timedelta(minutes=1)
    room.do("lock_released", "dee", at=later, token=1)
    assert room.check("checklist_step_done", "dee", at=later, **done).code == "stale_token"
    room.do("lock_requested", "dee", at=later)
    assert room.state.lock.token == 2
    assert room.check("checklist_step_done", "dee", at=later, **done).code == "stale_token"
    fresh = start_action(room, "dee", token=2)
    expired = later + timedelta(minutes=11)
    fresh_done = {**done, "action_id": fresh}
    assert room.check("checklist_step_done", "dee", at=expired, **fresh_done).code == (
        "lease_expired"
    )
    room.do("checklist_step_done", "dee", at=later, **fresh_done)
    step = room.state.checklists[1].step(2)
    assert step.status == StepStatus.DONE and str(step.action_id) == fresh
    # One action does one step; a plain step takes no action.
    room.do(
        "checklist_step_added",
        "ana",
        checklist=1,
        do="Roll back the worker",
        changes_production=True,
    )
    assert (
        room.check(
            "checklist_step_done", "dee", at=later, checklist=1, step=4, action_id=fresh
        ).code
        == "invalid"
    )
    assert (
        room.check(
            "checklist_step_done", "dee", at=later, checklist=1, step=3, action_id=fresh
        ).code
        == "invalid"
    )
    unknown = {"checklist": 1, "step": 4, "action_id": str(uuid.uuid4())}
    assert room.check("checklist_step_done", "dee", at=later, **unknown).code == "unknown_action"


def test_checklist_events_read_on_the_timeline():
    room = ChecklistRoom()
    before = room.state
    room.do("checklist_step_skipped", "ana", checklist=1, step=3, reason="dashboards down")
    assert before.checklists[1].step(3).status == StepStatus.OPEN  # the fold is pure
    skipped = make_event("checklist_step_skipped", 9, checklist=1, step=3, reason="dashboards down")
    assert skipped.describe() == "C1.3 skipped: dashboards down"
    attach = make_event("runbook_attached", 9, runbook="roll-back", title="Roll back", steps=STEPS)
    assert attach.describe() == "Runbook attached: Roll back (roll-back, 3 steps)"
    claimed = make_event("checklist_step_claimed", 9, actor="cy", checklist=1, step=2)
    assert claimed.describe() == "cy is on C1.2"


def test_runbooks_are_suggested_by_what_they_apply_to():
    room = ChecklistRoom()  # titled "Checkout 500s"
    shed = Runbook.model_validate(
        {
            "name": "shed-load",
            "title": "Shed load",
            "applies_to": {"titles": ["checkout"], "services": ["checkout-api"]},
            "steps": [{"do": "Turn on the queue page"}],
        }
    )
    db = Runbook.model_validate(
        {
            "name": "db-failover",
            "title": "Fail over",
            "applies_to": {"services": ["orders-db"]},
            "steps": [{"do": "Promote the replica"}],
        }
    )
    attached = Runbook.model_validate(
        {
            "name": "roll-back",
            "title": "x",
            "applies_to": {"titles": ["checkout"]},
            "steps": [{"do": "x"}],
        }
    )
    assert matches(shed, room.state) == ["checkout"]
    assert matches(db, room.state) == []
    assert suggested([db, attached, shed], room.state) == [shed]


@pytest.mark.parametrize(
    "bad", [{"do": " "}, {"do": "x", "role": "observer"}, {"do": "x", "why": 1}]
)
def test_a_runbook_step_refuses_what_it_cannot_use(bad):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Runbook.model_validate({"name": "x", "title": "x", "steps": [bad]})


def test_progress_shows_in_the_briefing_and_the_read_in():
    from warroom.core.briefing import briefing_text, build_briefing, read_in
    from warroom.core.roles import Role

    room = ChecklistRoom()
    room.do("checklist_step_done", "cy", checklist=1, step=1)
    line = "Checklists: C1 Roll back: 1/3"
    assert line in briefing_text(build_briefing(room.state))
    assert line in briefing_text(read_in(room.state))
    assert line in briefing_text(build_briefing(room.state, Role.LEAD))
    assert "Checklists" not in briefing_text(build_briefing(room.state, Role.COMMS))


def test_an_added_step_keeps_the_role_expected_apart_from_the_senders_role():
    """The envelope's ``role`` is the sender's, stamped by the hub; the step's is its own."""
    room = ChecklistRoom()
    room.do("checklist_step_added", "bo", checklist=1, do="Page the DBA", expected_role="responder")
    step = room.state.checklists[1].step(4)
    assert step.role is not None and step.role.value == "responder"
    odd = room.check("checklist_step_added", "bo", checklist=1, do="x", expected_role="observer")
    assert odd.code == "invalid"


def test_the_actions_a_step_may_be_done_as_are_the_holders_unlinked_ones_under_the_live_lease():
    """What the Steps pane offers on ``d`` (a pipeline's recorded change among them) is exactly
    what the done rule accepts."""
    room = ChecklistRoom()
    assert actions_for_step(room.state, "dee") == []
    room.do("lock_requested", "dee")
    first = start_action(room, "dee", token=1)
    second = start_action(room, "dee", token=1)
    assert [str(a.id) for a in actions_for_step(room.state, "dee")] == [second, first]
    for name in ("ana", "bo", "cy"):  # not the holder: nothing to offer
        assert actions_for_step(room.state, name) == []
    for offered in actions_for_step(room.state, "dee"):
        assert (
            room.check("checklist_step_done", "dee", checklist=1, step=2, action_id=str(offered.id))
            is None
        )
    room.do("checklist_step_done", "dee", checklist=1, step=2, action_id=second)
    assert [str(a.id) for a in actions_for_step(room.state, "dee")] == [first]
    later = T0 + timedelta(minutes=1)
    room.do("lock_released", "dee", at=later, token=1)
    room.do("lock_requested", "dee", at=later)
    assert actions_for_step(room.state, "dee") == []  # the old lease's actions vouch for nothing
