"""What the room knows about an incident's lifecycle: severity and phase history, escalation
proposals and the triage scope.

These records live on :class:`~warroom.core.state.IncidentState` under its lifecycle marker. They
are plain frozen models, so the lifecycle folds in :mod:`warroom.core.lifecycle` replace them with
copies and an older state stays valid. Other features read them: the comms cadence reads
``severity_history``, stakeholder updates and the postmortem read ``triage``, the metrics read the
times.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from warroom.core.phases import Phase
from warroom.core.severity import Severity


class SeverityRecord(BaseModel):
    """One change of severity after the declaration, with who decided it and why."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime | None
    severity: Severity
    from_severity: Severity
    by: str
    reason: str
    #: True when the change accepted the hub's escalation proposal.
    escalation: bool = False


class PhaseRecord(BaseModel):
    """One move between phases after the declaration (the incident starts in ``detected``)."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime | None
    phase: Phase
    from_phase: Phase
    by: str
    reason: str = ""

    @property
    def backwards(self) -> bool:
        return self.phase.index < self.from_phase.index


class EscalationStatus(StrEnum):
    """Where a proposal to raise severity stands."""

    OPEN = "open"
    #: The IC raised the severity as proposed.
    ACCEPTED = "accepted"
    #: The IC kept the severity, with a reason.
    DISMISSED = "dismissed"
    #: The IC changed the severity some other way while the proposal was open.
    SUPERSEDED = "superseded"
    #: The incident reached "monitoring" before the IC decided.
    LAPSED = "lapsed"


class Escalation(BaseModel):
    """A proposal the hub recorded when the incident outlived its expected time to mitigate."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime | None
    #: The deadline that passed; one proposal per deadline, so the hub records it once.
    due_at: datetime
    severity: Severity
    #: One level more severe, or ``None`` at SEV1 (there is nothing higher to raise it to).
    proposed: Severity | None
    expected_minutes: int
    status: EscalationStatus = EscalationStatus.OPEN
    decided_by: str = ""
    decided_at: datetime | None = None
    reason: str = ""

    @property
    def open(self) -> bool:
        return self.status == EscalationStatus.OPEN


class Impact(StrEnum):
    """An answer to an impact question; "unknown" is an answer too, and the default."""

    UNKNOWN = "unknown"
    NONE = "none"
    SUSPECTED = "suspected"
    CONFIRMED = "confirmed"


class Trend(StrEnum):
    """Whether the impact is still spreading."""

    UNKNOWN = "unknown"
    GROWING = "growing"
    STABLE = "stable"
    SHRINKING = "shrinking"


class TriageQuestion(StrEnum):
    """The triage questions, each answered (and confirmed) on its own."""

    WHO = "who"
    WHERE = "where"
    FEATURES = "features"
    CUSTOMER_IMPACT = "customer_impact"
    FINANCIAL_IMPACT = "financial_impact"
    DATA_INTEGRITY = "data_integrity"
    TREND = "trend"
    RECENT_CHANGES = "recent_changes"


#: The question as the console and the postmortem ask it.
QUESTION_TEXT: dict[TriageQuestion, str] = {
    TriageQuestion.WHO: "Who is affected (users, tenants)?",
    TriageQuestion.WHERE: "Where (regions, routes)?",
    TriageQuestion.FEATURES: "Which features?",
    TriageQuestion.CUSTOMER_IMPACT: "Customer impact?",
    TriageQuestion.FINANCIAL_IMPACT: "Financial impact?",
    TriageQuestion.DATA_INTEGRITY: "Data integrity at risk?",
    TriageQuestion.TREND: "Growing or stable?",
    TriageQuestion.RECENT_CHANGES: "Recent deploys or config changes?",
}

#: Questions answered from a fixed list (with an optional detail); the others are free text.
CHOICES: dict[TriageQuestion, type[StrEnum]] = {
    TriageQuestion.CUSTOMER_IMPACT: Impact,
    TriageQuestion.FINANCIAL_IMPACT: Impact,
    TriageQuestion.DATA_INTEGRITY: Impact,
    TriageQuestion.TREND: Trend,
}

#: Choice questions that carry a free-text detail beside the choice.
DETAIL_FIELD: dict[TriageQuestion, str] = {
    TriageQuestion.CUSTOMER_IMPACT: "customer_impact_detail",
    TriageQuestion.FINANCIAL_IMPACT: "financial_impact_detail",
    TriageQuestion.DATA_INTEGRITY: "data_integrity_detail",
}


class TriageScope(BaseModel):
    """The answers to the triage questions, flat so that updates and reports can quote them."""

    model_config = ConfigDict(frozen=True)

    who: str = ""
    where: str = ""
    features: str = ""
    customer_impact: Impact = Impact.UNKNOWN
    customer_impact_detail: str = ""
    financial_impact: Impact = Impact.UNKNOWN
    financial_impact_detail: str = ""
    data_integrity: Impact = Impact.UNKNOWN
    data_integrity_detail: str = ""
    trend: Trend = Trend.UNKNOWN
    recent_changes: str = ""

    def answer(self, question: TriageQuestion) -> str:
        """The answer to ``question`` as one line (choice and detail together)."""
        value = getattr(self, question.value)
        text = value.value if isinstance(value, StrEnum) else value
        detail_field = DETAIL_FIELD.get(question)
        detail = getattr(self, detail_field) if detail_field else ""
        return f"{text}: {detail}" if detail else text


class TriageMark(BaseModel):
    """Who last answered a triage question and whether the IC has confirmed that answer."""

    model_config = ConfigDict(frozen=True)

    #: The seq of the answer; an IC confirms exactly this answer, not a later one.
    seq: int
    by: str
    at: datetime | None
    confirmed_by: str = ""
    confirmed_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        return bool(self.confirmed_by)
