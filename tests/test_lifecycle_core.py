"""Severity, phases, escalation, impact start and triage as pure rules and folds, no network."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.helpers import T0, make_event
from warroom.core.affordances import may
from warroom.core.cadence import severity_changes
from warroom.core.events import Actor
from warroom.core.fold import apply, replay
from warroom.core.lifecycle import (
    escalation_deadline,
    escalation_id,
    escalation_timer,
    open_escalation,
    phase_refusal,
)
from warroom.core.lifecycle_state import EscalationStatus, Impact, Trend, TriageQuestion
from warroom.core.log import parse_event
from warroom.core.phases import Phase
from warroom.core.roles import Role
from warroom.core.rules import ALLOWED_WHEN_CLOSED, check_command
from warroom.core.severity import Severity
from warroom.core.timers import due

HOUR = timedelta(hours=1)


class Room:
    """A folded incident that events are appended to, stamped as the hub would stamp them."""

    def __init__(self, severity: str = "SEV2") -> None:
        self.state = replay(
            [
                make_event("incident_declared", 1, title="Checkout 500s", severity=severity),
                make_event("participant_joined", 2, name="ana", seat="ic"),
                make_event("participant_joined", 3, actor="bo", name="bo", seat="responder"),
                make_event("participant_joined", 4, actor="obs", name="obs", seat="observer"),
            ]
        )

    def check(self, type_: str, actor: str = "ana", at=T0, **payload):
        draft = parse_event(
            {"type": type_, "id": str(uuid.uuid4()), "incident_id": "inc-test", **payload}
        )
        return check_command(self.state, draft, Actor(name=actor), at)

    def refused(self, type_: str, actor: str = "ana", at=T0, **payload) -> str:
        """The refusal code; fails the test if the hub would accept."""
        refusal = self.check(type_, actor, at, **payload)
        assert refusal is not None, f"{type_} {payload} was accepted"
        return refusal.code

    def do(self, type_: str, actor: str = "ana", at=T0, **payload):
        """Check like the hub, then fold; fail the test if the hub would refuse."""
        refusal = self.check(type_, actor, at, **payload)
        assert refusal is None, refusal
        self.state = apply(
            self.state, make_event(type_, self.state.seq + 1, actor=actor, at=at, **payload)
        )
        return self.state

    def tick(self, now):
        """What the hub's timer would record at ``now``, folded in; returns the drafts."""
        drafts = due(self.state, now)
        for draft in drafts:
            self.state = apply(
                self.state,
                draft.model_copy(
                    update={
                        "seq": self.state.seq + 1,
                        "at": now,
                        "actor": "warroom",
                        "role": Role.HUB,
                        "incident_id": "inc-test",
                    }
                ),
            )
        return [d for d in drafts if d.type == "escalation_due"]


# --- severity ---------------------------------------------------------------------------------
def test_ic_changes_severity_with_a_reason_and_the_history_keeps_both_levels():
    room = Room()
    at = T0 + timedelta(minutes=5)
    state = room.do(
        "severity_changed", at=at, severity="SEV1", reason="all regions now", previous="SEV2"
    )
    assert state.severity == Severity.SEV1
    [record] = state.severity_history
    assert (record.from_severity, record.severity, record.by, record.reason, record.at) == (
        Severity.SEV2,
        Severity.SEV1,
        "ana",
        "all regions now",
        at,
    )
    # The comms cadence reads the same history to reschedule updates.
    assert [(c.at, c.severity) for c in severity_changes(state)] == [(at, Severity.SEV1)]


@pytest.mark.parametrize(
    ("actor", "payload", "code"),
    [
        ("bo", {"severity": "SEV1", "reason": "looks bad"}, "forbidden"),
        ("obs", {"severity": "SEV1", "reason": "looks bad"}, "forbidden"),
        ("ana", {"severity": "SEV1", "reason": "   "}, "reason_required"),
        ("ana", {"severity": "SEV1"}, "reason_required"),
        ("ana", {"severity": "SEV2", "reason": "same"}, "invalid"),
        ("ana", {"severity": "SEV1", "reason": "x", "previous": "SEV3"}, "stale"),
        ("ana", {"severity": "SEV1", "reason": "x", "escalation": True}, "no_escalation"),
    ],
)
def test_refused_severity_changes_leave_the_severity_alone(actor, payload, code):
    room = Room()
    assert room.refused("severity_changed", actor, **payload) == code
    assert room.state.severity == Severity.SEV2 and room.state.severity_history == []


# --- phases -----------------------------------------------------------------------------------
def test_phases_forward_record_mitigation_resolution_and_close_times():
    room = Room()
    times = {p: T0 + timedelta(minutes=10 * i) for i, p in enumerate(Phase)}
    room.do("phase_changed", phase="triage", previous="detected", at=times[Phase.TRIAGE])
    room.do("phase_changed", phase="mitigating", at=times[Phase.MITIGATING])
    state = room.do("phase_changed", phase="monitoring", at=times[Phase.MONITORING])
    assert state.mitigated_at == times[Phase.MONITORING] and state.resolved_at is None
    state = room.do(
        "phase_changed",
        phase="resolved",
        resolution="Rolled back v2.3.1.",
        at=times[Phase.RESOLVED],
    )
    assert (state.resolved_at, state.resolution) == (times[Phase.RESOLVED], "Rolled back v2.3.1.")
    state = room.do("phase_changed", phase="closed", at=times[Phase.CLOSED])
    assert state.phase == Phase.CLOSED and state.closed_at == times[Phase.CLOSED]
    assert [r.phase for r in state.phase_history] == list(Phase)[1:]
    assert state.phase_history[0].from_phase == Phase.DETECTED


def test_forward_may_skip_phases_that_did_not_happen_and_still_records_mitigation():
    room = Room()
    state = room.do("phase_changed", phase="resolved", resolution="False alarm: probe bug.")
    assert state.mitigated_at == T0 and state.resolved_at == T0


@pytest.mark.parametrize(
    ("path", "target", "payload", "code"),
    [
        ([], "closed", {}, "not_resolved"),  # skipping to closed from detected
        (["triage", "mitigating", "monitoring"], "closed", {}, "not_resolved"),
        (["triage"], "resolved", {}, "resolution_required"),  # resolving without a summary
        (["triage"], "resolved", {"resolution": "  "}, "resolution_required"),
        ([], "detected", {}, "invalid"),
        (["triage"], "mitigating", {"resolution": "fixed"}, "invalid"),
        (["triage", "mitigating"], "triage", {}, "reason_required"),  # back without a reason
        (["triage"], "mitigating", {"previous": "detected"}, "stale"),
    ],
)
def test_refused_transitions(path, target, payload, code):
    room = Room()
    for phase in path:
        room.do("phase_changed", phase=phase)
    before = room.state
    assert room.refused("phase_changed", phase=target, **payload) == code
    assert room.state is before


def test_only_the_ic_moves_phases():
    room = Room()
    assert room.refused("phase_changed", "bo", phase="triage") == "forbidden"
    assert room.refused("phase_changed", "obs", phase="triage") == "forbidden"
    assert phase_refusal(room.state, "bo", Phase.TRIAGE) is not None
    assert phase_refusal(room.state, "ana", Phase.TRIAGE) is None


def test_moving_back_with_a_reason_clears_the_times_that_no_longer_hold():
    room = Room()
    room.do("phase_changed", phase="monitoring", at=T0 + timedelta(minutes=20))
    room.do(
        "phase_changed",
        phase="resolved",
        resolution="restarted pods",
        at=T0 + timedelta(minutes=30),
    )
    state = room.do(
        "phase_changed",
        phase="mitigating",
        reason="errors are back",
        previous="resolved",
        at=T0 + timedelta(minutes=40),
    )
    assert (state.mitigated_at, state.resolved_at, state.resolution) == (None, None, "")
    assert state.phase_history[-1].backwards and state.phase_history[-1].reason == "errors are back"
    state = room.do("phase_changed", phase="monitoring", at=T0 + timedelta(minutes=50))
    assert state.mitigated_at == T0 + timedelta(minutes=50)


def test_a_closed_incident_refuses_everything_but_a_reopen_and_an_impact_start_correction():
    # (and corrections and redactions of the record, issue 23: see test_corrections_core and
    # test_redaction_core; and revoking a status page link, issue 21: see test_status_access)
    assert {
        "phase_changed",
        "impact_start_set",
        "entry_amended",
        "entry_retimed",
        "page_link_revoked",
        "entry_redacted",
    } == ALLOWED_WHEN_CLOSED
    room = Room()
    room.do("phase_changed", phase="resolved", resolution="Rolled back.")
    room.do("phase_changed", phase="closed")
    assert room.refused("note_added", text="one more thing") == "closed"
    assert room.refused("severity_changed", severity="SEV1", reason="x") == "closed"
    assert room.refused("triage_answered", "bo", question="who", answer="all") == "closed"
    assert not may(room.state, Actor(name="ana"), T0, "note_added")
    assert may(room.state, Actor(name="ana"), T0, "phase_changed")
    room.do("impact_start_set", "bo", started_at=(T0 - HOUR).isoformat(), note="from graphs")
    assert room.refused("phase_changed", phase="triage") == "reason_required"
    assert room.refused("phase_changed", "bo", phase="triage", reason="x") == "forbidden"
    state = room.do("phase_changed", phase="mitigating", reason="it came back", previous="closed")
    assert state.phase == Phase.MITIGATING and state.closed_at is None and state.resolved_at is None


# --- escalation -------------------------------------------------------------------------------
def test_escalation_is_due_once_at_the_expected_time_to_mitigate():
    room = Room("SEV2")  # expected time to mitigate: 4 h
    assert escalation_deadline(room.state) == T0 + 4 * HOUR
    assert room.tick(T0 + 4 * HOUR - timedelta(seconds=1)) == []
    [proposal] = room.tick(T0 + 4 * HOUR)
    assert proposal.id == escalation_id("inc-test", T0 + 4 * HOUR)
    assert (proposal.severity, proposal.proposed, proposal.expected_minutes) == (
        Severity.SEV2,
        Severity.SEV1,
        240,
    )
    assert open_escalation(room.state).due_at == T0 + 4 * HOUR
    assert room.tick(T0 + 9 * HOUR) == []
    # The same deadline drafts the same id, so the hub dedupes a draft made before a restart.
    assert escalation_timer(Room("SEV2").state, T0 + 5 * HOUR)[0].id == proposal.id


def test_escalation_is_not_due_from_monitoring_on_and_lapses_when_mitigated():
    room = Room("SEV1")
    room.do("phase_changed", phase="monitoring", at=T0 + timedelta(minutes=30))
    assert escalation_deadline(room.state) is None
    assert room.tick(T0 + 5 * HOUR) == []

    late = Room("SEV1")
    late.tick(T0 + HOUR)
    state = late.do("phase_changed", phase="monitoring", at=T0 + 2 * HOUR)
    assert open_escalation(state) is None
    assert state.escalations[-1].status == EscalationStatus.LAPSED


def test_after_a_lapse_a_regression_gets_one_more_expected_time():
    room = Room("SEV1")
    room.tick(T0 + HOUR)
    room.do("phase_changed", phase="monitoring", at=T0 + HOUR + timedelta(minutes=5))
    room.do("phase_changed", phase="mitigating", reason="errors back", at=T0 + 2 * HOUR)
    assert escalation_deadline(room.state) == T0 + 2 * HOUR + timedelta(minutes=5)
    assert room.tick(T0 + 2 * HOUR + timedelta(minutes=4)) == []
    [again] = room.tick(T0 + 2 * HOUR + timedelta(minutes=5))
    assert again.id != escalation_id("inc-test", T0 + HOUR)  # a new deadline, a new id


def test_accepting_raises_one_level_and_restarts_the_clock_for_the_new_severity():
    room = Room("SEV3")  # 24 h, then SEV2's 4 h from the change
    room.tick(T0 + 24 * HOUR)
    assert (
        room.refused("severity_changed", "bo", severity="SEV2", reason="ok", escalation=True)
        == "forbidden"
    )
    assert (
        room.refused("severity_changed", severity="SEV1", reason="ok", escalation=True) == "invalid"
    )
    accepted_at = T0 + 25 * HOUR
    state = room.do(
        "severity_changed",
        severity="SEV2",
        reason="Escalation accepted",
        escalation=True,
        previous="SEV3",
        at=accepted_at,
    )
    assert state.severity == Severity.SEV2 and state.severity_history[-1].escalation
    assert state.escalations[-1].status == EscalationStatus.ACCEPTED
    assert state.escalations[-1].decided_by == "ana"
    assert escalation_deadline(state) == accepted_at + 4 * HOUR
    assert room.tick(accepted_at + 4 * HOUR - timedelta(minutes=1)) == []
    [again] = room.tick(accepted_at + 4 * HOUR)
    assert again.proposed == Severity.SEV1


def test_dismissing_needs_the_ic_and_a_reason_and_buys_one_more_expected_time():
    room = Room("SEV1")
    room.tick(T0 + HOUR)
    assert room.refused("escalation_dismissed", "bo", reason="fine") == "forbidden"
    assert room.refused("escalation_dismissed", reason=" ") == "reason_required"
    dismissed_at = T0 + HOUR + timedelta(minutes=5)
    state = room.do("escalation_dismissed", reason="rollback nearly done", at=dismissed_at)
    proposal = state.escalations[-1]
    assert (proposal.status, proposal.reason, proposal.proposed) == (
        EscalationStatus.DISMISSED,
        "rollback nearly done",
        None,  # nothing above SEV1
    )
    assert room.refused("escalation_dismissed", reason="again") == "no_escalation"
    assert room.tick(dismissed_at + HOUR - timedelta(seconds=1)) == []
    assert len(room.tick(dismissed_at + HOUR)) == 1


def test_a_manual_severity_change_supersedes_an_open_proposal():
    room = Room("SEV2")
    room.tick(T0 + 4 * HOUR)
    state = room.do("severity_changed", severity="SEV3", reason="only one tenant after all")
    assert state.escalations[-1].status == EscalationStatus.SUPERSEDED
    assert open_escalation(state) is None


def test_sev4_never_escalates():
    room = Room("SEV4")
    assert escalation_deadline(room.state) is None
    assert room.tick(T0 + 1000 * HOUR) == []


def test_the_hub_alone_records_escalation_due():
    room = Room()
    code = room.refused(
        "escalation_due",
        severity="SEV2",
        proposed="SEV1",
        due_at=T0.isoformat(),
        expected_minutes=240,
    )
    assert code == "hub_only"


# --- impact start -----------------------------------------------------------------------------
def test_anyone_sets_when_impact_started_and_may_correct_it_later():
    room = Room()
    room.do("impact_start_set", "bo", started_at=(T0 - 2 * HOUR).isoformat())
    state = room.do("impact_start_set", "ana", started_at=(T0 - 3 * HOUR).isoformat())
    assert state.impact_started_at == T0 - 3 * HOUR


@pytest.mark.parametrize(
    "started_at", [(T0 + timedelta(minutes=1)).isoformat(), "2026-03-14T08:00:00"]
)
def test_an_impact_start_after_detection_or_without_timezone_is_refused(started_at):
    room = Room()
    assert room.refused("impact_start_set", "bo", at=T0 + HOUR, started_at=started_at) == "invalid"


# --- triage -----------------------------------------------------------------------------------
def test_anyone_answers_triage_and_the_ic_confirms_that_exact_answer():
    room = Room()
    state = room.do("triage_answered", "bo", question="who", answer="EU tenants on plan B")
    answer_seq = state.triage_marks[TriageQuestion.WHO].seq
    room.do("triage_answered", "bo", question="where", answer="eu-west-1, /checkout")
    room.do("triage_answered", "bo", question="data_integrity", answer="unknown")
    room.do(
        "triage_answered",
        "bo",
        question="financial_impact",
        answer="confirmed",
        detail="orders lost, ~2k EUR/min",
    )
    state = room.do("triage_answered", "bo", question="trend", answer="growing")
    assert state.triage.financial_impact == Impact.CONFIRMED
    assert state.triage.financial_impact_detail == "orders lost, ~2k EUR/min"
    assert state.triage.trend == Trend.GROWING
    assert state.triage.customer_impact == Impact.UNKNOWN  # each answered separately

    assert room.refused("triage_confirmed", "bo", question="who") == "forbidden"
    assert room.refused("triage_confirmed", question="features") == "unanswered"
    state = room.do("triage_confirmed", question="who", answer_seq=answer_seq)
    assert state.triage_marks[TriageQuestion.WHO].confirmed_by == "ana"
    assert room.refused("triage_confirmed", question="who") == "unchanged"

    state = room.do("triage_answered", "bo", question="who", answer="all EU tenants")
    assert not state.triage_marks[TriageQuestion.WHO].confirmed
    assert room.refused("triage_confirmed", question="who", answer_seq=answer_seq) == "stale"


@pytest.mark.parametrize(
    ("actor", "payload", "code"),
    [
        ("obs", {"question": "who", "answer": "all"}, "forbidden"),
        ("bo", {"question": "customer_impact", "answer": "bad"}, "invalid"),
        ("bo", {"question": "trend", "answer": "stable", "detail": "x"}, "invalid"),
        ("obs", {"question": "customer_impact", "answer": "unknown"}, "forbidden"),
    ],
)
def test_refused_triage_answers(actor, payload, code):
    room = Room()
    assert room.refused("triage_answered", actor, **payload) == code


def test_descriptions_read_as_timeline_lines():
    assert (
        make_event(
            "severity_changed", 5, severity="SEV1", reason="all users", previous="SEV2"
        ).describe()
        == "Severity: SEV2 → SEV1 (all users)"
    )
    assert make_event(
        "phase_changed", 5, phase="triage", reason="errors back", previous="monitoring"
    ).describe() == ("Moved back to triage from monitoring (errors back)")
    assert make_event("phase_changed", 5, phase="closed").describe() == (
        "Incident closed: the response has ended"
    )
    assert make_event(
        "escalation_due",
        5,
        severity="SEV2",
        proposed="SEV1",
        due_at=T0.isoformat(),
        expected_minutes=240,
    ).describe() == ("Not mitigated within 4 h 00 min, the expected time for SEV2; proposing SEV1")
