"""Rows for the export's derived tables, from the folded state and from changes seen while folding.

Only the shapes of the state are read here; no rule is re-implemented. Feature state that an
incident never used simply yields no rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from warroom.core.events import EventBase
from warroom.core.roles import HELD_ROLES, Role
from warroom.core.state import IncidentState

TableRows = tuple[str, str | tuple[str, ...], list[dict[str, Any]]]


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


class HistoryTracker:
    """Watches each fold step for what the end state alone cannot tell: who held which role
    from when to when, how severity moved, and every stakeholder update sent."""

    def __init__(self, incident_id: str) -> None:
        self.incident_id = incident_id
        self.roles: list[dict[str, Any]] = []
        self._open: dict[Role, dict[str, Any]] = {}
        self.severity: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []

    def observe(self, before: IncidentState, after: IncidentState, event: EventBase) -> None:
        for role in HELD_ROLES:
            old, new = before.holder(role), after.holder(role)
            if old == new:
                continue
            if old is not None and role in self._open:
                interval = self._open.pop(role)
                interval.update(until_seq=event.seq, until=iso(event.at))
            if new is not None:
                interval = {
                    "incident_id": self.incident_id,
                    "role": role.value,
                    "holder": new,
                    "since_seq": event.seq,
                    "since": iso(event.at),
                    "until_seq": None,
                    "until": None,
                }
                self.roles.append(interval)
                self._open[role] = interval
        if event.type == "incident_declared" or before.severity != after.severity:
            self.severity.append(
                {
                    "incident_id": self.incident_id,
                    "seq": event.seq,
                    "at": iso(event.at),
                    "severity": after.severity.value,
                    "actor": event.actor,
                    "reason": getattr(event, "reason", "")
                    or ("declared" if event.type == "incident_declared" else ""),
                }
            )
        if event.type == "update_published":
            self.updates.append(
                {
                    "incident_id": self.incident_id,
                    "seq": event.seq,
                    "at": iso(event.at),
                    "audience": str(getattr(event, "audience", "")),
                    "author": event.actor,
                    "text": getattr(event, "text", ""),
                    "next_update_at": iso(getattr(event, "next_update_at", None)),
                }
            )


def incident_row(state: IncidentState, event_count: int, exported_at: str) -> dict[str, Any]:
    metrics = _metrics(state)
    return {
        "id": state.incident_id,
        "title": state.title,
        "severity": state.severity.value,
        "phase": state.phase.value,
        "drill": int(state.drill),
        "declared_by": state.declared_by,
        "trigger": state.trigger,
        "symptoms": state.symptoms,
        "scope": state.scope,
        "started_at": iso(metrics.get("started_at")),
        "detected_at": iso(state.detected_at),
        "declared_at": iso(state.declared_at),
        "mitigated_at": iso(metrics.get("mitigated_at")),
        "resolved_at": iso(metrics.get("resolved_at")),
        "closed_at": iso(metrics.get("closed_at")),
        "resolution": metrics.get("resolution") or "",
        "time_to_detect_s": seconds(metrics.get("time_to_detect")),
        "time_to_declare_s": seconds(metrics.get("time_to_declare")),
        "time_to_mitigate_s": seconds(metrics.get("time_to_mitigate")),
        "time_to_resolve_s": seconds(metrics.get("time_to_resolve")),
        "overdue_updates": metrics.get("overdue_updates"),
        "event_count": event_count,
        "exported_at": exported_at,
    }


def _metrics(state: IncidentState) -> dict[str, Any]:
    """The core's response metrics, as a plain dict (empty where the core has none)."""
    try:
        from warroom.core import metrics as core_metrics
    except ImportError:
        return {}
    compute = getattr(core_metrics, "compute", None) or getattr(core_metrics, "metrics", None)
    if compute is None:
        return {}
    value = compute(state)
    if hasattr(value, "model_dump"):
        return dict(value)
    return dict(value) if isinstance(value, dict) else {}


def state_tables(state: IncidentState, tracker: HistoryTracker) -> Iterator[TableRows]:
    inc = state.incident_id
    yield (
        "participants",
        ("incident_id", "name"),
        [
            {
                "incident_id": inc,
                "name": p.name,
                "seat": p.seat.value,
                "joined_at": iso(p.joined_at),
                "last_seen": iso(p.last_seen),
                "online_at_export": int(p.online),
            }
            for p in state.participants.values()
        ],
    )
    yield "roles", ("incident_id", "role", "since_seq"), tracker.roles
    yield "severity_changes", ("incident_id", "seq"), tracker.severity
    yield "comms_updates", ("incident_id", "seq"), tracker.updates
    card = getattr(state, "drill_scorecard", None)
    if card is not None:
        row = card.model_dump()
        row["observations"] = json.dumps(row["observations"])
        yield "drill_scorecards", "incident_id", [{"incident_id": inc, **row}]
    yield from _board_tables(state)
    yield from _decision_tables(state)
    yield from _lock_tables(state)


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def _board_tables(state: IncidentState) -> Iterator[TableRows]:
    inc = state.incident_id
    items = getattr(state, "board", {}) or {}
    guesses, facts, history, evidence = [], [], [], []
    for item in items.values():
        kind, status = _value(item.kind), _value(item.status)
        if kind == "guess":
            guesses.append(
                {
                    "incident_id": inc,
                    "no": item.no,
                    "text": item.text,
                    "author": item.author,
                    "added_at": iso(item.added_at),
                    "status": status,
                    "owner": item.owner,
                    "resolved_by": item.resolved_by,
                    "resolved_at": iso(item.resolved_at),
                    "reason": item.reason,
                }
            )
        if kind == "fact" or status in ("confirmed", "retracted"):
            from_guess = kind == "guess"
            facts.append(
                {
                    "incident_id": inc,
                    "no": item.no,
                    "text": item.text,
                    "author": item.author,
                    "added_at": iso(item.added_at),
                    "status": "retracted" if status == "retracted" else "confirmed",
                    "from_guess": item.no if from_guess else None,
                    "confirmed_by": item.resolved_by if from_guess else item.author,
                    "confirmed_at": iso(item.resolved_at) if from_guess else iso(item.added_at),
                    "retracted_reason": item.reason if status == "retracted" else "",
                }
            )
        for change in getattr(item, "history", ()):
            history.append(
                {
                    "incident_id": inc,
                    "item_no": item.no,
                    "seq": change.seq,
                    "at": iso(change.at),
                    "actor": change.actor,
                    "action": change.action,
                    "detail": change.detail,
                }
            )
        for note in getattr(item, "evidence", ()):
            evidence.append(
                {
                    "incident_id": inc,
                    "item_no": item.no,
                    "seq": note.seq,
                    "kind": _value(note.kind),
                    "text": note.text,
                    "by": note.by,
                    "at": iso(note.at),
                }
            )
    yield "guesses", ("incident_id", "no"), guesses
    yield "facts", ("incident_id", "no"), facts
    yield "board_history", ("incident_id", "item_no", "seq"), history
    yield "evidence", ("incident_id", "item_no", "seq"), evidence


def _decision_tables(state: IncidentState) -> Iterator[TableRows]:
    inc = state.incident_id
    decisions = getattr(state, "decisions", {}) or {}
    yield (
        "decisions",
        ("incident_id", "no"),
        [
            {
                "incident_id": inc,
                "no": d.no,
                "seq": d.seq,
                "at": iso(d.at),
                "what": d.what,
                "why": d.why,
                "options": json.dumps(list(d.options)),
                "owner": d.owner,
                "decided_by": d.decided_by,
                "supersedes": d.supersedes,
                "superseded_by": d.superseded_by,
            }
            for d in decisions.values()
        ],
    )
    yield (
        "decision_facts",
        ("incident_id", "decision_no", "fact_no"),
        [
            {"incident_id": inc, "decision_no": d.no, "fact_no": f}
            for d in decisions.values()
            for f in d.facts
        ],
    )
    yield (
        "follow_ups",
        ("incident_id", "no"),
        [
            {
                "incident_id": inc,
                "no": f.no,
                "text": f.text,
                "owner": f.owner,
                "due": iso(f.due),
                "noted_by": f.noted_by,
                "at": iso(f.at),
            }
            for f in (getattr(state, "follow_ups", {}) or {}).values()
        ],
    )


def _lock_tables(state: IncidentState) -> Iterator[TableRows]:
    inc = state.incident_id
    lock = getattr(state, "lock", None)
    grants = getattr(lock, "grants", ()) if lock is not None else ()
    yield (
        "lock_grants",
        ("incident_id", "token"),
        [
            {
                "incident_id": inc,
                "token": g.token,
                "holder": g.holder,
                "granted_at": iso(g.granted_at),
                "via": _value(g.via),
                "granted_by": g.by,
                "ended_at": iso(g.ended_at),
                "ended": _value(g.ended),
                "ended_by": g.ended_by,
                "reason": g.reason,
            }
            for g in grants
        ],
    )
    actions = getattr(state, "actions", {}) or {}
    yield (
        "actions",
        ("incident_id", "id"),
        [
            {
                "incident_id": inc,
                "id": str(a.id),
                "token": a.token,
                "kind": _value(a.kind),
                "target": a.target,
                "expected": a.expected,
                "metric": a.metric,
                "value_before": a.value_before,
                "value_after": a.value_after,
                "outcome": _value(a.outcome),
                "started_by": a.by,
                "started_at": iso(a.started_at),
                "finished_at": iso(a.finished_at),
                "note": a.note,
                "undoes": str(a.undoes) if a.undoes else None,
            }
            for a in actions.values()
        ],
    )
