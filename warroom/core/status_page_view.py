"""What a status page may show: the published record for one audience, and nothing else.

The page is built from this view, never from the state itself, so the rule is in one place: an
``external`` reader sees external updates only; an ``internal`` reader sees both kinds. Beyond the
updates the page shows the incident's title, severity and phase (what every stakeholder message
states), and never the board, notes, decisions, guesses, who is in the room or who wrote an update:
a name reaches the page only if an update's text named it.

Updates are numbered for the reader (1, 2, 3...), not by the room's count, so an external reader
cannot tell from a gap that an internal update went out in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warroom.core.comms_state import Audience, StakeholderUpdate
from warroom.core.phases import Phase
from warroom.core.severity import RUBRIC, Severity
from warroom.core.state import IncidentState

#: The phase in a stakeholder's words: the headline and one sentence.
PHASE_WORDS: dict[Phase, tuple[str, str]] = {
    Phase.DETECTED: ("Investigating", "We are aware of a problem and are looking into it."),
    Phase.TRIAGE: ("Investigating", "The team is working out what is affected and why."),
    Phase.MITIGATING: ("Fixing", "The team is working on a fix."),
    Phase.MONITORING: ("Monitoring", "A fix is in place; the team is watching that it holds."),
    Phase.RESOLVED: ("Resolved", "The problem is fixed."),
    Phase.CLOSED: ("Resolved", "The problem is fixed and the incident is closed."),
}

#: The severity in words for readers who do not know the SEV scale.
SEVERITY_WORDS: dict[Severity, str] = {
    Severity.SEV1: "Critical",
    Severity.SEV2: "Major",
    Severity.SEV3: "Minor",
    Severity.SEV4: "Low",
}


@dataclass(frozen=True)
class PageUpdate:
    """One published update as a reader of this audience sees it."""

    number: int
    at: datetime | None
    audience: Audience
    text: str
    affected: str
    not_affected: str
    next_update_at: datetime | None


@dataclass(frozen=True)
class StatusView:
    """Everything one status page shows, already filtered for its audience."""

    incident_id: str
    title: str
    audience: Audience
    drill: bool
    severity: Severity
    severity_words: str
    severity_meaning: str
    phase: Phase
    phase_headline: str
    phase_sentence: str
    #: Newest first.
    updates: tuple[PageUpdate, ...]
    #: When the latest visible update promised the next one, if it did.
    next_update_at: datetime | None
    #: The promised time has passed without a newer update for this audience.
    next_update_late: bool
    #: What is affected and what is not, as the latest update that said so put it.
    affected: str = ""
    not_affected: str = ""

    @property
    def latest(self) -> PageUpdate | None:
        return self.updates[0] if self.updates else None

    @property
    def ended(self) -> bool:
        return self.phase in (Phase.RESOLVED, Phase.CLOSED)


def visible_to(update: StakeholderUpdate, audience: Audience) -> bool:
    """An internal reader sees every update; an external reader the external ones only."""
    return audience == Audience.INTERNAL or update.audience == Audience.EXTERNAL


def status_view(state: IncidentState, audience: Audience, now: datetime) -> StatusView:
    """The page for ``audience`` of the incident in ``state`` at ``now``."""
    shown = [u for u in state.comms.updates if visible_to(u, audience)]
    updates = tuple(
        PageUpdate(
            number=i,
            at=u.at,
            audience=u.audience,
            text=u.text,
            affected=u.fields.affected,
            not_affected=u.fields.not_affected,
            next_update_at=u.next_update_at,
        )
        for i, u in reversed(list(enumerate(shown, start=1)))
    )
    headline, sentence = PHASE_WORDS[state.phase]
    ended = state.phase in (Phase.RESOLVED, Phase.CLOSED)
    promised = updates[0].next_update_at if updates and not ended else None
    return StatusView(
        incident_id=state.incident_id,
        title=state.title,
        audience=audience,
        drill=state.drill,
        severity=state.severity,
        severity_words=SEVERITY_WORDS[state.severity],
        severity_meaning=RUBRIC[state.severity],
        phase=state.phase,
        phase_headline=headline,
        phase_sentence=sentence,
        updates=updates,
        next_update_at=promised,
        next_update_late=promised is not None and now > promised,
        affected=next((u.affected.strip() for u in updates if u.affected.strip()), ""),
        not_affected=next((u.not_affected.strip() for u in updates if u.not_affected.strip()), ""),
    )
