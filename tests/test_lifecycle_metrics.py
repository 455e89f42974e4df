"""Response metrics computed by the core from a fixed event log, as the export reuses them."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import T0, make_event
from warroom.core.fold import replay
from warroom.core.metrics import compute, elapsed
from warroom.core.severity import Severity
from warroom.core.state import IncidentState
from warroom.export.derived import incident_row


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def at(n: float):
    return T0 + minutes(n)


#: Impact began at 08:40, someone noticed at 08:52, the incident was declared at 09:00; two
#: stakeholder deadlines were missed; mitigation first failed, then held at 10:10.
LOG = [
    make_event(
        "incident_declared",
        1,
        at=at(0),
        title="Checkout 500s",
        severity="SEV2",
        detected_at=at(-8).isoformat(),
    ),
    make_event("participant_joined", 2, at=at(0), name="ana", seat="ic"),
    make_event("impact_start_set", 3, at=at(5), started_at=at(-10).isoformat()),
    make_event("phase_changed", 4, at=at(6), phase="triage"),
    make_event("severity_changed", 5, at=at(12), severity="SEV1", reason="all regions"),
    make_event(
        "update_overdue", 6, at=at(15), role="hub", actor="warroom", due_at=at(10).isoformat()
    ),
    make_event("phase_changed", 7, at=at(20), phase="mitigating"),
    make_event("phase_changed", 8, at=at(40), phase="monitoring"),
    make_event("phase_changed", 9, at=at(50), phase="mitigating", reason="errors back"),
    make_event(
        "update_overdue", 10, at=at(55), role="hub", actor="warroom", due_at=at(52).isoformat()
    ),
    make_event("phase_changed", 11, at=at(70), phase="monitoring"),
    make_event(
        "impact_start_set",
        12,
        at=at(80),
        started_at=at(-20).isoformat(),
        note="first failed checkout in the logs",
    ),
    make_event("phase_changed", 13, at=at(100), phase="resolved", resolution="Rolled back."),
    make_event("phase_changed", 14, at=at(110), phase="closed"),
]


def test_metrics_from_a_fixed_log():
    metrics = compute(replay(LOG))
    assert metrics.started_at == at(-20)  # the correction, learned later, wins
    assert (metrics.detected_at, metrics.declared_at) == (at(-8), at(0))
    assert metrics.mitigated_at == at(70)  # the mitigation that held, not the first attempt
    assert (metrics.resolved_at, metrics.closed_at) == (at(100), at(110))
    assert metrics.resolution == "Rolled back."
    assert metrics.time_to_detect == minutes(12)
    assert metrics.time_to_declare == minutes(8)
    assert metrics.time_to_mitigate == minutes(90)
    assert metrics.time_to_resolve == minutes(120)
    assert metrics.measured_from == "impact_started"
    assert metrics.overdue_updates == 2
    assert metrics.peak_severity == Severity.SEV1


def test_before_the_impact_start_is_known_durations_run_from_detection():
    metrics = compute(
        replay(LOG[:2] + [make_event("phase_changed", 3, at=at(30), phase="monitoring")])
    )
    assert metrics.started_at is None and metrics.time_to_detect is None
    assert metrics.time_to_mitigate == minutes(38) and metrics.measured_from == "detected"
    assert metrics.time_to_resolve is None and metrics.overdue_updates == 0


def test_elapsed_impact_runs_until_mitigation():
    running = replay(LOG[:4])
    assert elapsed(running, at(30)) == minutes(40)
    assert elapsed(replay(LOG), at(500)) == minutes(90)
    assert compute(IncidentState()).peak_severity is None


def test_the_export_row_carries_the_same_numbers():
    row = incident_row(replay(LOG), event_count=len(LOG), exported_at=at(200).isoformat())
    assert row["time_to_mitigate_s"] == 90 * 60
    assert row["time_to_detect_s"] == 12 * 60
    assert row["overdue_updates"] == 2
    assert row["resolution"] == "Rolled back."
