"""When the next stakeholder update is due: pure arithmetic over the folded state.

The rule, from the severity policy recorded at declaration:

* the first update is due ``policy.first_update_after`` (10 minutes) after declaration;
* after each update, the next is due one severity cadence later (SEV1 15 min, SEV2 30 min...),
  or earlier if the update itself promised an earlier time;
* a severity change re-times the countdown: the next update is due no later than one cadence of
  the new severity after the change (before the first update, no later than the first-update
  delay after it). A deadline already set is never pushed back: stakeholders hear about a
  downgrade on the schedule they were promised.
* a severity without a cadence (SEV4) sets no deadline; a resolved or closed incident has none.

The hub's overdue timer, every console's status bar and ``warroom comms preview`` all call
:func:`next_update_due`, so they agree to the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.core.phases import Phase
from warroom.core.severity import Severity
from warroom.core.state import IncidentState

#: Phases in which no further update is scheduled.
QUIET_PHASES: frozenset[Phase] = frozenset({Phase.RESOLVED, Phase.CLOSED})


@dataclass(frozen=True)
class SeverityChange:
    at: datetime
    severity: Severity


@dataclass(frozen=True)
class Countdown:
    """What the status bar shows: when the update is due and how long is left (or overdue)."""

    due_at: datetime
    remaining: timedelta

    @property
    def overdue(self) -> bool:
        return self.remaining <= timedelta(0)

    def label(self) -> str:
        """``next update 04:32`` counting down, ``UPDATE OVERDUE 02:10`` counting up."""
        if self.overdue:
            return f"UPDATE OVERDUE {format_span(-self.remaining)}"
        return f"next update {format_span(self.remaining)}"


def format_span(span: timedelta) -> str:
    """``mm:ss`` under an hour, ``h:mm:ss`` beyond, ``Nd hh:mm`` past a day; never negative."""
    total = max(0, int(span.total_seconds()))
    days, rest = divmod(total, 86400)
    if days:
        return f"{days}d {rest // 3600:02d}:{rest % 3600 // 60:02d}"
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes:02d}:{seconds:02d}"


def cadence_of(state: IncidentState, severity: Severity) -> timedelta | None:
    return state.settings.policy.update_cadence.get(severity)


def severity_changes(state: IncidentState) -> list[SeverityChange]:
    """Every severity change after the declaration, oldest first (the lifecycle records them)."""
    return [SeverityChange(at=r.at, severity=r.severity) for r in state.severity_history if r.at]


def declared_severity(state: IncidentState) -> Severity:
    """The severity the incident was declared with."""
    if state.severity_history:
        return state.severity_history[0].from_severity
    return state.severity


def next_update_due(state: IncidentState) -> datetime | None:
    """When the next stakeholder update is due, or ``None`` if none is scheduled."""
    if not state.declared or state.declared_at is None or state.phase in QUIET_PHASES:
        return None
    policy = state.settings.policy
    last = state.comms.last_update
    history = severity_changes(state)
    candidates: list[datetime] = []
    if last is None or last.at is None:
        anchor = state.declared_at
        first = _first_update_due(state, history)
        if first is not None:
            candidates.append(first)
    else:
        anchor = last.at
        cadence = cadence_of(state, last.severity)
        if cadence is not None:
            candidates.append(anchor + cadence)
        if last.next_update_at is not None:
            candidates.append(last.next_update_at)

    for change in (c for c in history if c.at > anchor):
        cadence = cadence_of(state, change.severity)
        if cadence is None:
            continue
        if last is None:
            cadence = min(cadence, policy.first_update_after)
        candidates.append(change.at + cadence)
    return min(candidates) if candidates else None


def _first_update_due(state: IncidentState, history: list[SeverityChange]) -> datetime | None:
    """First update: ``first_update_after`` past the moment the incident first had a cadence."""
    assert state.declared_at is not None
    first_after = state.settings.policy.first_update_after
    if cadence_of(state, declared_severity(state)) is not None:
        return state.declared_at + first_after
    for change in history:
        if cadence_of(state, change.severity) is not None:
            return change.at + first_after
    return None


def countdown(state: IncidentState, now: datetime) -> Countdown | None:
    """The status bar's countdown to the next update at ``now``, or ``None`` if none is due."""
    due = next_update_due(state)
    if due is None:
        return None
    return Countdown(due_at=due, remaining=due - now)
