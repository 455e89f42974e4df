"""The export's alert tables (issue 20): the alert groups behind each incident and every
notification of theirs that reached its timeline, from the folded state alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from warroom.core.state import IncidentState


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def alert_tables(state: IncidentState) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    inc = state.incident_id
    yield (
        "alert_groups",
        [
            {
                "incident_id": inc,
                "group_id": g.group_id,
                "source": g.source,
                "summary": g.summary,
                "starts_at": _iso(g.starts_at),
                "firing": g.firing,
                "resolved": g.resolved,
                "attached_by": g.attached_by,
                "attached_at": _iso(g.attached_at),
                "updated_at": _iso(g.updated_at),
            }
            for g in state.alerts.groups.values()
        ],
    )
    yield (
        "alert_notifications",
        [
            {
                "incident_id": inc,
                "seq": e.seq,
                "group_id": e.group_id,
                "at": _iso(e.at),
                "text": e.text,
                "firing": e.firing,
                "resolved": e.resolved,
                "changes": e.changes,
                "link": e.link,
                "fact_no": e.fact,
            }
            for e in sorted(state.alerts.evidence.values(), key=lambda e: e.seq)
        ],
    )


def first_alert(state: IncidentState) -> tuple[str, Any] | None:
    """The source and start of the earliest alert behind the incident, if any group is attached:
    what the postmortem gives as the detection time monitoring recorded."""
    groups = [g for g in state.alerts.groups.values() if g.starts_at is not None]
    if not groups:
        return None
    first = min(groups, key=lambda g: g.starts_at)  # type: ignore[arg-type,return-value]
    return f"{first.source}: {first.summary}", first.starts_at
