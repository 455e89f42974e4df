"""Turning a script step into the command a simulated responder sends."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from warroom.client.sync import IncidentClient
from warroom.core.comms_state import Audience, ResolutionRange, UpdateFields
from warroom.core.update_text import Draft, promised_next, render
from warroom.drill.scenario import Do, Step

if TYPE_CHECKING:
    from warroom.drill.runner import DrillRunner

#: The event types that show a step was done (used when the user plays the step's role).
EVENT_FOR: dict[Do, tuple[str, ...]] = {
    Do.NOTE: ("note_added",),
    Do.FACT: ("board_item_added",),
    Do.GUESS: ("board_item_added",),
    Do.CLAIM: ("guess_claimed",),
    Do.CONFIRM: ("guess_confirmed",),
    Do.RULE_OUT: ("guess_ruled_out",),
    Do.EVIDENCE: ("evidence_added",),
    Do.LOCK: ("lock_requested",),
    Do.RELEASE: ("lock_released",),
    Do.ACTION: ("action_started",),
    Do.FINISH: ("action_finished",),
    Do.DECIDE: ("decision_recorded",),
    Do.PHASE: ("phase_changed",),
    Do.SEVERITY: ("severity_changed",),
    Do.UPDATE: ("update_published",),
    Do.FOLLOW_UP: ("follow_up_noted",),
    Do.ASSIGN: ("role_assigned",),
}


def build(
    runner: DrillRunner, bot: IncidentClient, step: Step
) -> tuple[str, dict[str, Any]] | None:
    """The (event type, payload) for ``step``, or ``None`` if it no longer applies."""
    state = runner.state
    text = runner.rng.choice(step.texts) if step.texts else step.text
    item = runner.items.get(step.item) if step.item else None
    evidence = {"kind": "note", "text": step.evidence} if step.evidence else None
    match step.do:
        case Do.NOTE:
            return "note_added", {"text": text, "kind": step.kind or "note"}
        case Do.FACT | Do.GUESS:
            return "board_item_added", {"kind": step.do.value, "text": text}
        case Do.CLAIM:
            return "guess_claimed", {"item": item}
        case Do.CONFIRM:
            payload: dict[str, Any] = {"item": item}
            if evidence:
                payload["evidence"] = evidence
            return "guess_confirmed", payload
        case Do.RULE_OUT:
            return "guess_ruled_out", {"item": item, "evidence": evidence}
        case Do.EVIDENCE:
            return "evidence_added", {"item": item, "evidence": evidence}
        case Do.LOCK:
            if state.lock.holder == bot.name:
                return None
            return "lock_requested", {}
        case Do.RELEASE:
            if state.lock.holder != bot.name:
                return None
            return "lock_released", {"token": state.lock.token}
        case Do.ACTION:
            return "action_started", {
                "token": state.lock.token if state.lock.holder == bot.name else 0,
                "kind": step.kind,
                "target": step.target,
                "expected": step.expected,
                "metric": step.metric,
                "value_before": step.before,
            }
        case Do.FINISH:
            action = runner.actions.get(bot.name)
            if action is None:
                return None
            return "action_finished", {
                "action_id": str(action),
                "value_after": step.after,
                "outcome": step.outcome,
                "note": text,
            }
        case Do.DECIDE:
            return "decision_recorded", {
                "what": step.what,
                "why": step.why,
                "options": step.options,
                "facts": [runner.items[k] for k in step.facts if k in runner.items],
                "owner": step.owner or None,
            }
        case Do.PHASE:
            payload = {"phase": step.to, "reason": step.reason}
            if step.to == "resolved":
                payload["resolution"] = text
            return "phase_changed", payload
        case Do.SEVERITY:
            return "severity_changed", {"severity": step.to, "reason": step.reason}
        case Do.UPDATE:
            now = runner.clock()
            fields = UpdateFields(
                affected=step.affected,
                not_affected=step.not_affected,
                expect=step.expect,
                doing=step.doing,
                resolution=ResolutionRange(),
            )
            audience = Audience(step.audience)
            draft = Draft(
                audience=audience,
                fields=fields,
                next_update_at=promised_next(state, now, step.next_update_minutes),
            )
            return "update_published", {
                "audience": audience.value,
                "text": render(state, draft, now),
                "fields": fields.model_dump(mode="json"),
                "next_update_at": draft.next_update_at.isoformat()
                if draft.next_update_at
                else None,
            }
        case Do.FOLLOW_UP:
            due = (runner.clock() + timedelta(days=step.due_days)).date()
            return "follow_up_noted", {"text": text, "owner": step.owner, "due": due.isoformat()}
        case Do.ASSIGN:
            return "role_assigned", {"assigned_role": step.role, "holder": step.to}
    return None
