"""Severity, phases, escalation, the impact start and the triage scope of an incident.

Severity decides how big the response is; the IC changes it, always with a reason.

Phases run detected → triage → mitigating → monitoring → resolved → closed, and only the IC moves
them. The transition rules (:func:`phase_refusal`):

* Forward, the IC may skip phases that did not happen (a self-healing blip may go from triage
  straight to monitoring), but "resolved" needs a short resolution summary and "closed" can only
  follow "resolved": an incident never ends in silence, and never jumps from detected to closed.
* Back, to any earlier phase, always with a reason (the mitigation did not hold, the fix regressed).
  From "closed" this is a reopen, the one change a closed incident accepts besides correcting the
  impact start (``ALLOWED_WHEN_CLOSED`` in :mod:`warroom.core.rules`).
* Moving back before "monitoring" clears the mitigation time, before "resolved" the resolution
  time and summary, out of "closed" the close time: the metrics then measure the mitigation that
  held, not the first attempt.

Escalation: while an incident is before "monitoring", its expected time to mitigate (per severity,
from the policy the hub stamped at declaration) runs from when the current severity took effect,
or from the last dismissal of a proposal. When that deadline passes the hub records one
``escalation_due``, whose id derives from the incident and the deadline, so it is recorded once
even across restarts. Every console then shows a banner proposing one level more; the IC accepts
(a ``severity_changed`` with ``escalation=True``) or dismisses it with a reason. Reaching
"monitoring" lapses an open proposal. A dismissal or a lapse buys one more expected time before
the next proposal, so a proposal is never repeated at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from warroom.core.events import Actor, EventBase, Refusal, event, refuse, require_reason
from warroom.core.lifecycle_state import (
    CHOICES,
    DETAIL_FIELD,
    Escalation,
    EscalationStatus,
    PhaseRecord,
    SeverityRecord,
    TriageMark,
    TriageQuestion,
)
from warroom.core.phases import Phase
from warroom.core.severity import Severity
from warroom.core.state import IncidentState
from warroom.core.timers import timer

#: Namespace of escalation ids: uuid5 of the incident and the deadline, so one deadline, one id.
ESCALATION_NAMESPACE = uuid.UUID("0b7f3e2a-8c41-4d59-a6e3-5f2d9c1b7e44")

MAX_REASON = 1000
MAX_RESOLUTION = 2000
MAX_ANSWER = 2000

#: Phases in which the expected time to mitigate is still running.
UNMITIGATED: frozenset[Phase] = frozenset({Phase.DETECTED, Phase.TRIAGE, Phase.MITIGATING})


# --- pure helpers the events, the hub timer and the console share -----------------------------
def _blank(text: str) -> bool:
    return not text.strip()


def severity_since(state: IncidentState) -> datetime | None:
    """When the current severity took effect (the declaration, or the last change)."""
    if state.severity_history:
        return state.severity_history[-1].at
    return state.declared_at


def open_escalation(state: IncidentState) -> Escalation | None:
    """The proposal waiting for the IC's decision, if any."""
    if state.escalations and state.escalations[-1].open:
        return state.escalations[-1]
    return None


def expected_time_to_mitigate(state: IncidentState) -> timedelta | None:
    """The current severity's expected time to mitigate on this incident's policy."""
    return state.settings.policy.time_to_mitigate.get(state.severity)


def escalation_deadline(state: IncidentState) -> datetime | None:
    """When the hub will propose raising the severity, or ``None`` if it will not."""
    if not state.declared or state.phase not in UNMITIGATED:
        return None
    expected = expected_time_to_mitigate(state)
    start = severity_since(state)
    if expected is None or start is None:
        return None
    # A proposal that was dismissed, or lapsed because the incident was mitigated, restarts the
    # clock: the next proposal comes one full expected time after it, never at once again.
    last = state.escalations[-1] if state.escalations else None
    if last is not None and last.decided_at is not None:
        start = max(start, last.decided_at)
    return start + expected


def escalation_id(incident_id: str, deadline: datetime) -> uuid.UUID:
    return uuid.uuid5(ESCALATION_NAMESPACE, f"{incident_id}:escalation:{deadline.isoformat()}")


def raised(severity: Severity) -> Severity | None:
    """One level more severe, or ``None`` at SEV1."""
    return None if severity == Severity.SEV1 else severity.raised()


def phase_refusal(
    state: IncidentState, name: str, target: Phase, reason: str = "", resolution: str = ""
) -> Refusal | None:
    """Whether ``name`` may move the incident to ``target`` now (the transition rules)."""
    if not state.is_ic(name):
        return refuse("forbidden", "Only the incident commander moves the incident between phases.")
    current = state.phase
    if target == current:
        return refuse("invalid", f"The incident is already in {target.value}.")
    if resolution.strip() and target != Phase.RESOLVED:
        return refuse("invalid", "A resolution summary goes with moving to resolved.")
    if target.index < current.index:
        verb = "Reopening" if current == Phase.CLOSED else f"Moving back to {target.value}"
        return require_reason(reason, f"{verb} needs a reason.")
    if target == Phase.CLOSED and current != Phase.RESOLVED:
        return refuse(
            "not_resolved",
            "Close only a resolved incident: move it to resolved with a resolution summary first.",
        )
    if target == Phase.RESOLVED and _blank(resolution):
        return refuse("resolution_required", "Resolving needs a short resolution summary.")
    return None


def next_phase(phase: Phase) -> Phase | None:
    """The phase after ``phase`` (what the console offers first), or ``None`` after closed."""
    return None if phase == Phase.CLOSED else Phase(list(Phase)[phase.index + 1])


def _ic_only(state: IncidentState, actor: Actor, what: str) -> Refusal | None:
    if not state.is_ic(actor.name):
        return refuse("forbidden", f"Only the incident commander {what}.")
    return None


def _aware(at: datetime) -> bool:
    return at.tzinfo is not None and at.utcoffset() is not None


# --- severity ---------------------------------------------------------------------------------
@event
class SeverityChanged(EventBase):
    """The IC changes the severity, with a reason (or accepts the hub's escalation proposal)."""

    type: Literal["severity_changed"] = "severity_changed"
    severity: Severity
    reason: str = Field(default="", max_length=MAX_REASON)
    #: The severity the IC saw; if given and no longer current, the change is refused.
    previous: Severity | None = None
    #: True to accept the open escalation proposal (``severity`` must be the proposed level).
    escalation: bool = False

    timeline_kind = "severity"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = _ic_only(state, actor, "changes the severity")
        if refusal is not None:
            return refusal
        if self.previous is not None and self.previous != state.severity:
            return refuse(
                "stale",
                f"The severity is now {state.severity}, not {self.previous}; look again.",
            )
        if self.severity == state.severity:
            return refuse("invalid", f"The incident is already {self.severity}.")
        missing = require_reason(self.reason, "A severity change needs a reason.")
        if missing is not None:
            return missing
        if self.escalation:
            proposal = open_escalation(state)
            if proposal is None:
                return refuse("no_escalation", "There is no escalation proposal to accept.")
            if proposal.proposed != self.severity:
                return refuse(
                    "invalid", f"The proposal was {proposal.proposed}, not {self.severity}."
                )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        record = SeverityRecord(
            seq=self.seq,
            at=self.at,
            severity=self.severity,
            from_severity=state.severity,
            by=self.actor,
            reason=self.reason,
            escalation=self.escalation,
        )
        escalations = state.escalations
        proposal = open_escalation(state)
        if proposal is not None:
            accepted = self.escalation or (
                proposal.proposed is not None and self.severity.level <= proposal.proposed.level
            )
            status = EscalationStatus.ACCEPTED if accepted else EscalationStatus.SUPERSEDED
            decided = proposal.model_copy(
                update={
                    "status": status,
                    "decided_by": self.actor,
                    "decided_at": self.at,
                    "reason": self.reason,
                }
            )
            escalations = [*escalations[:-1], decided]
        return state.model_copy(
            update={
                "severity": self.severity,
                "severity_history": [*state.severity_history, record],
                "escalations": escalations,
            }
        )

    def describe(self) -> str:
        change = f"{self.previous} → {self.severity}" if self.previous else f"now {self.severity}"
        lead = "Escalation accepted" if self.escalation else "Severity"
        return f"{lead}: {change} ({self.reason.strip()})"


# --- phases -----------------------------------------------------------------------------------
@event
class PhaseChanged(EventBase):
    """The IC moves the incident to another phase (see the module docstring for the rules)."""

    type: Literal["phase_changed"] = "phase_changed"
    phase: Phase
    #: Required when moving back (and when reopening).
    reason: str = Field(default="", max_length=MAX_REASON)
    #: Required when moving to resolved: what ended the impact, in a sentence or two.
    resolution: str = Field(default="", max_length=MAX_RESOLUTION)
    #: The phase the IC saw; if given and no longer current, the move is refused.
    previous: Phase | None = None

    timeline_kind = "phase"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if self.previous is not None and self.previous != state.phase:
            return refuse(
                "stale",
                f"The incident is now in {state.phase.value}, not {self.previous.value}; "
                "look again.",
            )
        return phase_refusal(state, actor.name, self.phase, self.reason, self.resolution)

    def fold(self, state: IncidentState) -> IncidentState:
        target = self.phase
        record = PhaseRecord(
            seq=self.seq,
            at=self.at,
            phase=target,
            from_phase=state.phase,
            by=self.actor,
            reason=self.reason,
        )
        update: dict[str, object] = {
            "phase": target,
            "phase_history": [*state.phase_history, record],
        }
        mitigated = target.index >= Phase.MONITORING.index
        if mitigated and state.mitigated_at is None:
            update["mitigated_at"] = self.at
        if not mitigated:
            update["mitigated_at"] = None
        if target == Phase.RESOLVED:
            update["resolution"] = self.resolution.strip()
            if state.resolved_at is None:
                update["resolved_at"] = self.at
        elif target.index < Phase.RESOLVED.index:
            update["resolved_at"] = None
            update["resolution"] = ""
        update["closed_at"] = self.at if target == Phase.CLOSED else None
        proposal = open_escalation(state)
        if mitigated and proposal is not None:
            lapsed = proposal.model_copy(
                update={"status": EscalationStatus.LAPSED, "decided_at": self.at}
            )
            update["escalations"] = [*state.escalations[:-1], lapsed]
        return state.model_copy(update=update)

    def describe(self) -> str:
        target = self.phase
        if target == Phase.CLOSED:
            return "Incident closed: the response has ended"
        if target == Phase.RESOLVED:
            return f"Resolved: {self.resolution.strip()}"
        why = f" ({self.reason.strip()})" if self.reason.strip() else ""
        if self.previous == Phase.CLOSED:
            return f"Reopened in {target.value}{why}"
        if self.previous is not None and target.index < self.previous.index:
            return f"Moved back to {target.value} from {self.previous.value}{why}"
        if self.previous is not None:
            return f"Phase {self.previous.value} → {target.value}{why}"
        return f"Phase now {target.value}{why}"


# --- escalation -------------------------------------------------------------------------------
@event
class EscalationDue(EventBase):
    """Recorded by the hub when the incident outlives its expected time to mitigate."""

    type: Literal["escalation_due"] = "escalation_due"
    severity: Severity
    proposed: Severity | None = None
    due_at: datetime
    expected_minutes: int = Field(ge=0)

    hub_only = True
    timeline_kind = "escalate"

    def fold(self, state: IncidentState) -> IncidentState:
        proposal = Escalation(
            seq=self.seq,
            at=self.at,
            due_at=self.due_at,
            severity=self.severity,
            proposed=self.proposed,
            expected_minutes=self.expected_minutes,
        )
        return state.model_copy(update={"escalations": [*state.escalations, proposal]})

    def describe(self) -> str:
        hours, minutes = divmod(self.expected_minutes, 60)
        span = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
        past = f"Not mitigated within {span}, the expected time for {self.severity}"
        if self.proposed is None:
            return f"{past}; already the highest severity: more help may be needed"
        return f"{past}; proposing {self.proposed}"


@event
class EscalationDismissed(EventBase):
    """The IC keeps the severity despite the hub's proposal, and says why."""

    type: Literal["escalation_dismissed"] = "escalation_dismissed"
    reason: str = Field(default="", max_length=MAX_REASON)

    timeline_kind = "escalate"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = _ic_only(state, actor, "dismisses an escalation")
        if refusal is not None:
            return refusal
        if open_escalation(state) is None:
            return refuse("no_escalation", "There is no escalation proposal to dismiss.")
        return require_reason(self.reason, "Dismissing an escalation needs a reason.")

    def fold(self, state: IncidentState) -> IncidentState:
        proposal = open_escalation(state)
        if proposal is None:
            return state
        dismissed = proposal.model_copy(
            update={
                "status": EscalationStatus.DISMISSED,
                "decided_by": self.actor,
                "decided_at": self.at,
                "reason": self.reason.strip(),
            }
        )
        return state.model_copy(update={"escalations": [*state.escalations[:-1], dismissed]})

    def describe(self) -> str:
        return f"Escalation dismissed ({self.reason.strip()})"


@timer
def escalation_timer(state: IncidentState, now: datetime) -> list[EventBase]:
    """One ``escalation_due`` per passed deadline while the incident is unmitigated."""
    deadline = escalation_deadline(state)
    if deadline is None or now < deadline or open_escalation(state) is not None:
        return []
    if any(past.due_at == deadline for past in state.escalations):
        return []
    expected = expected_time_to_mitigate(state)
    assert expected is not None
    return [
        EscalationDue(
            id=escalation_id(state.incident_id, deadline),
            incident_id=state.incident_id,
            severity=state.severity,
            proposed=raised(state.severity),
            due_at=deadline,
            expected_minutes=int(expected.total_seconds() // 60),
        )
    ]


# --- impact start -----------------------------------------------------------------------------
@event
class ImpactStartSet(EventBase):
    """When the impact began, as far as the room knows; set again as facts are learned."""

    type: Literal["impact_start_set"] = "impact_start_set"
    started_at: datetime
    note: str = Field(default="", max_length=MAX_REASON)

    timeline_kind = "times"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not _aware(self.started_at):
            return refuse("invalid", "started_at needs a timezone (use UTC, e.g. ...Z).")
        if self.started_at > now:
            return refuse("invalid", "The impact cannot start in the future.")
        if state.detected_at is not None and self.started_at > state.detected_at:
            return refuse(
                "invalid",
                "The impact cannot start after it was detected "
                f"({state.detected_at:%Y-%m-%d %H:%M} UTC).",
            )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        return state.model_copy(update={"impact_started_at": self.started_at})

    def describe(self) -> str:
        note = f" ({self.note.strip()})" if self.note.strip() else ""
        return f"Impact started at {self.started_at:%Y-%m-%d %H:%M} UTC{note}"


# --- triage -----------------------------------------------------------------------------------
@event
class TriageAnswered(EventBase):
    """Anyone answers one triage question; a new answer needs the IC's confirmation again."""

    type: Literal["triage_answered"] = "triage_answered"
    question: TriageQuestion
    #: Free text, or for a choice question one of its choices (``unknown``, ``none``, ...).
    answer: str = Field(default="", max_length=MAX_ANSWER)
    #: For the impact questions: what the choice means here ("EU checkouts fail").
    detail: str = Field(default="", max_length=MAX_ANSWER)

    timeline_kind = "triage"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        choices = CHOICES.get(self.question)
        if choices is not None:
            allowed = [c.value for c in choices]
            if self.answer not in allowed:
                return refuse(
                    "invalid", f"Answer {self.question.value} with one of: {', '.join(allowed)}."
                )
        if self.detail.strip() and self.question not in DETAIL_FIELD:
            return refuse("invalid", f"{self.question.value} takes no separate detail.")
        # An explicit "unknown" is an answer (the room asked and does not know yet); only a
        # repeat of an answer someone already gave is refused.
        current = state.triage
        if (
            self.question in state.triage_marks
            and getattr(current, self.question.value) == self._value()
        ) and (
            self.question not in DETAIL_FIELD
            or getattr(current, DETAIL_FIELD[self.question]) == self.detail.strip()
        ):
            return refuse("unchanged", "That is already the answer.")
        return None

    def _value(self) -> object:
        choices = CHOICES.get(self.question)
        return choices(self.answer) if choices is not None else self.answer.strip()

    def fold(self, state: IncidentState) -> IncidentState:
        update: dict[str, object] = {self.question.value: self._value()}
        if self.question in DETAIL_FIELD:
            update[DETAIL_FIELD[self.question]] = self.detail.strip()
        marks = dict(state.triage_marks)
        marks[self.question] = TriageMark(seq=self.seq, by=self.actor, at=self.at)
        return state.model_copy(
            update={"triage": state.triage.model_copy(update=update), "triage_marks": marks}
        )

    def describe(self) -> str:
        answer = self.answer.strip() or "(cleared)"
        detail = f": {self.detail.strip()}" if self.detail.strip() else ""
        return f"Triage {self.question.value.replace('_', ' ')}: {answer}{detail}"


@event
class TriageConfirmed(EventBase):
    """The IC confirms the current answer to a triage question."""

    type: Literal["triage_confirmed"] = "triage_confirmed"
    question: TriageQuestion
    #: The seq of the answer the IC read; refused if someone has answered since.
    answer_seq: int | None = None

    timeline_kind = "triage"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = _ic_only(state, actor, "confirms triage answers")
        if refusal is not None:
            return refusal
        mark = state.triage_marks.get(self.question)
        if mark is None:
            return refuse("unanswered", f"Nobody has answered {self.question.value} yet.")
        if self.answer_seq is not None and self.answer_seq != mark.seq:
            return refuse(
                "stale", f"{mark.by} changed the answer to {self.question.value}; read it again."
            )
        if mark.confirmed:
            return refuse("unchanged", "That answer is already confirmed.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        mark = state.triage_marks.get(self.question)
        if mark is None:
            return state
        marks = dict(state.triage_marks)
        marks[self.question] = mark.model_copy(
            update={"confirmed_by": self.actor, "confirmed_at": self.at}
        )
        return state.model_copy(update={"triage_marks": marks})

    def describe(self) -> str:
        return f"Triage {self.question.value.replace('_', ' ')} confirmed"
