"""The export's checklist tables (#19): each attached runbook and each of its steps as worked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from warroom.core.state import IncidentState


def checklist_tables(state: IncidentState) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    inc = state.incident_id
    lists, steps = [], []
    for c in state.checklists.values():
        lists.append(
            {"incident_id": inc, "no": c.no, "runbook": c.runbook, "title": c.title,
             "attached_by": c.attached_by, "attached_at": _iso(c.attached_at),
             "steps": len(c.steps), "finished": c.finished}
        )  # fmt: skip
        for s in c.steps:
            steps.append(
                {"incident_id": inc, "checklist_no": c.no, "no": s.no, "do": s.do,
                 "command": s.command, "role": s.role.value if s.role else None,
                 "changes_production": int(s.changes_production), "status": s.status.value,
                 "claimed_by": s.claimed_by or None, "finished_by": s.finished_by or None,
                 "finished_at": _iso(s.finished_at), "reason": s.reason or None,
                 "action_id": str(s.action_id) if s.action_id else None,
                 "added_by": s.added_by or None}
            )  # fmt: skip
    yield "checklists", lists
    yield "checklist_steps", steps


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


#: How the postmortem marks each state of a step.
_BOX = {"open": "[ ]", "claimed": "[ ]", "done": "[x]", "skipped": "[–]", "not_applicable": "[/]"}


def checklist_lines(state: IncidentState, at: Callable[[datetime | None], str]) -> list[str]:
    """The postmortem's "Runbooks followed" section (nothing when no runbook was attached):
    each step as it ended, who finished it and why, and the action a production step was."""
    if not state.checklists:
        return []
    lines = ["## Runbooks followed", ""]
    for c in state.checklists.values():
        lines += [
            f"### {c.label}: {c.title} (`{c.runbook}`), {c.finished} of {len(c.steps)} steps "
            f"finished",
            "",
            f"Attached by {c.attached_by} at {at(c.attached_at)}.",
            "",
        ]
        for s in c.steps:
            added = f" _(added by {s.added_by})_" if s.added_by else ""
            line = f"- {_BOX[s.status.value]} {s.no}. {s.do}{added}"
            if s.status.finished:
                line += f" — {s.status.label} by {s.finished_by} at {at(s.finished_at)}"
                line += f": {s.reason}" if s.reason else ""
            elif s.claimed_by:
                line += f" — not finished ({s.claimed_by} was on it)"
            else:
                line += " — not done"
            action = state.actions.get(str(s.action_id)) if s.action_id else None
            if action is not None:
                outcome = action.outcome.label if action.outcome else "no result recorded"
                line += f" (as the {action.kind.label} of {action.target}, token {action.token}: "
                line += f"{outcome})"
            lines.append(line)
        lines.append("")
    return lines
