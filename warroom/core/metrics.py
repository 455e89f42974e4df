"""Response metrics of one incident, computed from its folded state.

One function, :func:`compute`, so the summary pane, the SQLite export and the postmortem draft all
show the same numbers. The times:

* **started**: when the impact began (``impact_start_set``; unknown until someone says),
* **detected**: when the problem was noticed (from the declaration),
* **declared**: when the incident was declared,
* **mitigated**: when the incident entered "monitoring" (the impact stopped),
* **resolved** and **closed**: when it entered those phases.

The durations: time to detect = detected − started; time to declare = declared − detected; time
to mitigate and time to resolve run from the impact start, or from detection while the start is
unknown (``measured_from`` says which), because the users' wait began when the impact did.
A duration whose end has not happened yet is ``None``; the console shows the running clock
separately (:func:`elapsed`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from warroom.core.severity import Severity
from warroom.core.state import IncidentState


class ResponseMetrics(BaseModel):
    """The times and durations of one incident's response; ``None`` where not (yet) known."""

    model_config = ConfigDict(frozen=True)

    started_at: datetime | None = None
    detected_at: datetime | None = None
    declared_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str = ""
    time_to_detect: timedelta | None = None
    time_to_declare: timedelta | None = None
    time_to_mitigate: timedelta | None = None
    time_to_resolve: timedelta | None = None
    #: What time to mitigate and time to resolve are measured from.
    measured_from: Literal["impact_started", "detected"] = "detected"
    #: Stakeholder update deadlines missed; ``None`` where the incident records no cadence.
    overdue_updates: int | None = None
    escalations: int = 0
    peak_severity: Severity | None = None


def compute(state: IncidentState) -> ResponseMetrics:
    """The metrics of the incident as ``state`` records it."""
    started = state.impact_started_at
    origin = started or state.detected_at
    return ResponseMetrics(
        started_at=started,
        detected_at=state.detected_at,
        declared_at=state.declared_at,
        mitigated_at=state.mitigated_at,
        resolved_at=state.resolved_at,
        closed_at=state.closed_at,
        resolution=state.resolution,
        time_to_detect=_between(started, state.detected_at),
        time_to_declare=_between(state.detected_at, state.declared_at),
        time_to_mitigate=_between(origin, state.mitigated_at),
        time_to_resolve=_between(origin, state.resolved_at),
        measured_from="impact_started" if started is not None else "detected",
        overdue_updates=overdue_updates(state),
        escalations=len(state.escalations),
        peak_severity=peak_severity(state),
    )


def overdue_updates(state: IncidentState) -> int | None:
    """How many stakeholder-update deadlines passed without an update.

    The comms feature records each missed deadline as an overdue episode; this reads its count
    defensively (``comms.overdue_count``, else ``len(comms.overdue_episodes)``) so the metrics keep
    working on a state recorded before, or without, that feature.
    """
    comms: Any = getattr(state, "comms", None)
    if comms is None:
        return None
    count = getattr(comms, "overdue_count", None)
    if isinstance(count, int):
        return count
    episodes = getattr(comms, "overdue_episodes", None)
    return len(episodes) if episodes is not None else None


def peak_severity(state: IncidentState) -> Severity | None:
    """The most severe level the incident ever had."""
    if not state.declared:
        return None
    levels = [state.severity, *(r.from_severity for r in state.severity_history)]
    return min(levels, key=lambda s: s.level)


def elapsed(state: IncidentState, now: datetime) -> timedelta | None:
    """How long the impact has lasted at ``now`` (until mitigation, if it has been mitigated)."""
    origin = state.impact_started_at or state.detected_at
    end = state.mitigated_at or now
    return _between(origin, end)


def _between(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None:
        return None
    return max(end - start, timedelta(0))
