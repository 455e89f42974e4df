"""Rows for the export's derived tables, from the folded state and from changes seen while folding.

Only the shapes of the state are read here; no rule is re-implemented, and the response metrics
come from :func:`warroom.core.metrics.compute`, so the export shows the numbers the console shows.
Feature state that an incident never used simply yields no rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from warroom.core.board import BoardItem, ItemChange, ItemKind, ItemStatus
from warroom.core.events import EventBase
from warroom.core.incident import IncidentDeclared
from warroom.core.lifecycle import SeverityChanged
from warroom.core.metrics import compute
from warroom.core.roles import HELD_ROLES, Role
from warroom.core.state import IncidentState
from warroom.export.alerts import alert_tables
from warroom.export.checklists import checklist_tables

#: ``(table, rows)`` for one derived table; its key is the schema's (``schema.TABLE``).
TableRows = tuple[str, list[dict[str, Any]]]


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


class HistoryTracker:
    """Watches each fold step for what the end state alone cannot tell: who held which role
    from when to when, and how the severity moved (with the declaration as its first entry)."""

    def __init__(self, incident_id: str) -> None:
        self.incident_id = incident_id
        self.roles: list[dict[str, Any]] = []
        self._open: dict[Role, dict[str, Any]] = {}
        self.severity: list[dict[str, Any]] = []

    def observe(self, before: IncidentState, after: IncidentState, event: EventBase) -> None:
        # A fold that changes no role keeps the same mapping: then no holder changed either
        # (the common case, and 8 lookups per event otherwise; issue 24).
        for role in HELD_ROLES if before.roles is not after.roles else ():
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
        declared = isinstance(event, IncidentDeclared)
        if declared or before.severity != after.severity:
            self.severity.append(
                {
                    "incident_id": self.incident_id,
                    "seq": event.seq,
                    "at": iso(event.at),
                    "severity": after.severity.value,
                    "actor": event.actor,
                    "reason": "declared" if declared else _reason(event),
                }
            )


def incident_row(state: IncidentState, event_count: int, exported_at: str) -> dict[str, Any]:
    metrics = compute(state)
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
        "started_at": iso(metrics.started_at),
        "detected_at": iso(metrics.detected_at),
        "declared_at": iso(metrics.declared_at),
        "mitigated_at": iso(metrics.mitigated_at),
        "resolved_at": iso(metrics.resolved_at),
        "closed_at": iso(metrics.closed_at),
        "resolution": metrics.resolution,
        "time_to_detect_s": seconds(metrics.time_to_detect),
        "time_to_declare_s": seconds(metrics.time_to_declare),
        "time_to_mitigate_s": seconds(metrics.time_to_mitigate),
        "time_to_resolve_s": seconds(metrics.time_to_resolve),
        "measured_from": metrics.measured_from,
        "overdue_updates": metrics.overdue_updates,
        "escalations": metrics.escalations,
        "peak_severity": _value(metrics.peak_severity),
        "event_count": event_count,
        "exported_at": exported_at,
    }


def state_tables(state: IncidentState, tracker: HistoryTracker) -> Iterator[TableRows]:
    """Every derived table's rows for one incident, parents before children."""
    inc = state.incident_id
    yield (
        "participants",
        [
            {
                "incident_id": inc,
                "name": p.name,
                "seat": p.seat.value,
                "joined_at": iso(p.joined_at),
                "last_seen": iso(p.last_seen),
                "online_at_export": int(p.online),
                "join_code": state.access.guests.get(p.name),
            }
            for p in state.participants.values()
        ],
    )
    yield "roles", tracker.roles
    yield "severity_changes", tracker.severity
    yield from _triage_table(state)
    yield from _comms_tables(state)
    card = state.drill_scorecard
    if card is not None:
        row = card.model_dump()
        row["observations"] = json.dumps(row["observations"])
        yield "drill_scorecards", [{"incident_id": inc, **row}]
    yield from _board_tables(state)
    yield from _decision_tables(state)
    yield from _lock_tables(state)
    yield from _correction_table(state)
    yield from alert_tables(state)  # issue 20
    yield from checklist_tables(state)  # #19


def _correction_table(state: IncidentState) -> Iterator[TableRows]:
    """Every amendment (its new text), retime (when the entry happened) and redaction (who and
    why; no text), by the seq of the correction; ``entry_seq`` is the entry corrected, whose
    first text is in ``events`` (unless it was redacted: then it reads the marker there too)."""
    rows: list[dict[str, Any]] = []
    for entry, versions in state.corrections.items():
        for v in versions:
            rows.append(
                {"incident_id": state.incident_id, "seq": v.seq, "entry_seq": entry,
                 "kind": "amended", "at": iso(v.at), "actor": v.by, "role": v.role.value,
                 "text": v.text, "happened_at": None, "reason": v.reason}
            )  # fmt: skip
    for entry, retimes in state.retimes.items():
        for r in retimes:
            rows.append(
                {"incident_id": state.incident_id, "seq": r.seq, "entry_seq": entry,
                 "kind": "retimed", "at": iso(r.at), "actor": r.by, "role": None,
                 "text": None, "happened_at": iso(r.happened_at), "reason": r.reason}
            )  # fmt: skip
    for entry, redaction in state.redactions.items():  # the text itself is gone (#23)
        rows.append(
            {"incident_id": state.incident_id, "seq": redaction.seq, "entry_seq": entry,
             "kind": "redacted", "at": iso(redaction.at), "actor": redaction.by,
             "role": redaction.role.value, "text": None, "happened_at": None,
             "reason": redaction.reason}
        )  # fmt: skip
    rows.sort(key=lambda row: row["seq"])
    yield "corrections", rows


def _triage_table(state: IncidentState) -> Iterator[TableRows]:
    yield (
        "triage",
        [
            {
                "incident_id": state.incident_id,
                "question": question.value,
                "answer": state.triage.answer(question),
                "answered_by": mark.by,
                "answered_at": iso(mark.at),
                "answer_seq": mark.seq,
                "confirmed_by": mark.confirmed_by or None,
                "confirmed_at": iso(mark.confirmed_at),
            }
            for question, mark in state.triage_marks.items()
        ],
    )


def _comms_tables(state: IncidentState) -> Iterator[TableRows]:
    inc = state.incident_id
    updates = state.comms.updates
    yield (
        "comms_updates",
        [
            {
                "incident_id": inc,
                "seq": u.seq,
                "number": u.number,
                "at": iso(u.at),
                "audience": u.audience.value,
                "author": u.author,
                "severity": u.severity.value,
                "phase": u.phase.value,
                "text": u.text,
                "next_update_at": iso(u.next_update_at),
            }
            for u in updates
        ],
    )
    seq_of = {u.update_id: u.seq for u in updates}
    yield (
        "update_deliveries",
        [
            {
                "incident_id": inc,
                "update_seq": seq_of[d.update_id],
                "target": d.target,
                "status": d.status.value,
                "attempts": d.attempts,
                "detail": d.detail,
                "at": iso(d.at),
            }
            for d in state.comms.deliveries
            if d.update_id in seq_of
        ],
    )


def _last_change(item: BoardItem, *actions: str) -> ItemChange | None:
    """The latest change of ``item`` whose action is one of ``actions`` (its status history)."""
    return next((c for c in reversed(item.history) if c.action in actions), None)


def _board_tables(state: IncidentState) -> Iterator[TableRows]:
    inc = state.incident_id
    guesses: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    for item in state.board.values():
        was_guess = item.kind == ItemKind.GUESS
        resolved = _last_change(item, "confirmed", "ruled out")
        retracted = _last_change(item, "retracted")
        # The columns a guess and a fact share, first in both tables.
        card = {
            "incident_id": inc,
            "no": item.no,
            "text": item.text,
            "author": item.author,
            "added_at": iso(item.added_at),
            "status": item.status.value,
        }
        if was_guess:
            guesses.append(
                {
                    **card,
                    "owner": item.owner,
                    "resolved_by": resolved.actor if resolved else None,
                    "resolved_at": iso(resolved.at) if resolved else None,
                    "reason": item.reason if item.status == ItemStatus.RULED_OUT else "",
                }
            )
        if item.status in (ItemStatus.CONFIRMED, ItemStatus.RETRACTED):
            confirmed = resolved if was_guess else None
            facts.append(
                {
                    **card,
                    "from_guess": item.no if was_guess else None,
                    "confirmed_by": confirmed.actor if confirmed else item.author,
                    "confirmed_at": iso(confirmed.at if confirmed else item.added_at),
                    "retracted_by": retracted.actor if retracted else None,
                    "retracted_at": iso(retracted.at) if retracted else None,
                    "retracted_reason": item.reason if retracted else "",
                }
            )
        history.extend(
            {
                "incident_id": inc,
                "item_no": item.no,
                "seq": change.seq,
                "at": iso(change.at),
                "actor": change.actor,
                "action": change.action,
                "detail": change.detail,
            }
            for change in item.history
        )
        evidence.extend(
            {
                "incident_id": inc,
                "item_no": item.no,
                "position": position,
                "seq": note.seq,
                "kind": note.kind.value,
                "text": note.text,
                "by": note.by,
                "at": iso(note.at),
            }
            for position, note in enumerate(item.evidence, start=1)
        )
    yield "guesses", guesses
    yield "facts", facts
    yield "board_history", history
    yield "evidence", evidence


def _decision_tables(state: IncidentState) -> Iterator[TableRows]:
    inc = state.incident_id
    decisions = state.decisions.values()
    yield (
        "decisions",
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
            for d in decisions
        ],
    )
    yield (
        "decision_facts",
        [
            {"incident_id": inc, "decision_no": d.no, "fact_no": f}
            for d in decisions
            for f in d.facts
        ],
    )
    yield (
        "follow_ups",
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
            for f in state.follow_ups.values()
        ],
    )


def _lock_tables(state: IncidentState) -> Iterator[TableRows]:
    inc = state.incident_id
    yield (
        "lock_grants",
        [
            {
                "incident_id": inc,
                "token": g.token,
                "holder": g.holder,
                "granted_at": iso(g.granted_at),
                "via": g.via.value,
                "granted_by": g.by,
                "ended_at": iso(g.ended_at),
                "ended": _value(g.ended),
                "ended_by": g.ended_by or None,
                "reason": g.reason,
            }
            for g in state.lock.grants
        ],
    )
    yield (
        "actions",
        [
            {
                "incident_id": inc,
                "id": str(a.id),
                "token": a.token,
                "kind": a.kind.value,
                "target": a.target,
                "expected": a.expected,
                "metric": a.metric,
                "value_before": a.value_before,
                "value_after": a.value_after or None,
                "outcome": _value(a.outcome),
                "started_by": a.by,
                "started_at": iso(a.started_at),
                "finished_by": a.finished_by or None,
                "finished_at": iso(a.finished_at),
                "note": a.note,
                "undoes": str(a.undoes) if a.undoes else None,
                "undone_by": str(a.undone_by) if a.undone_by else None,
            }
            for a in state.actions.values()
        ],
    )


def _reason(event: EventBase) -> str:
    """The reason a change of severity gives (only a severity change itself carries one)."""
    return event.reason if isinstance(event, SeverityChanged) else ""
