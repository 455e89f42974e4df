"""Turning a script step into the command a simulated responder sends.

A step names what to do; the command is an instance of the core's event class, built here. What a
step's command can only know when it runs (the seq of the card it names, the lock's token, the
clock) is given then; everything else is checked by the core's own classes when the scenario is
loaded (:func:`problem`), so a typo in a scenario file is reported with its line, not mid-drill.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from warroom.core.actions import ActionFinished, ActionStarted
from warroom.core.board import (
    BoardItemAdded,
    EvidenceAdded,
    GuessClaimed,
    GuessConfirmed,
    GuessRuledOut,
)
from warroom.core.checklist import ChecklistStepClaimed, ChecklistStepDone, RunbookAttached
from warroom.core.checklist_runbook import Runbook
from warroom.core.comms import UpdatePublished
from warroom.core.comms_state import Audience, ResolutionRange, UpdateFields
from warroom.core.decisions import DecisionRecorded, FollowUpNoted
from warroom.core.events import EventBase
from warroom.core.gate import ChangeFreezeLifted, ChangeFreezeSet, GateChecked
from warroom.core.incident import NoteAdded, RoleAssigned
from warroom.core.lifecycle import PhaseChanged, SeverityChanged
from warroom.core.lock import LockReleased, LockRequested
from warroom.core.log import EventError, draft
from warroom.core.state import IncidentState
from warroom.core.update_text import Draft, promised_next, render
from warroom.drill.scenario import Do, Step
from warroom.drill.scenario_gate import runbook_named

if TYPE_CHECKING:
    from warroom.client.sync import IncidentClient
    from warroom.drill.runner import DrillRunner

#: The event types that show a step was done (used when the user plays the step's role).
EVENT_FOR: dict[Do, tuple[type[EventBase], ...]] = {
    Do.NOTE: (NoteAdded,),
    Do.FACT: (BoardItemAdded,),
    Do.GUESS: (BoardItemAdded,),
    Do.CLAIM: (GuessClaimed,),
    Do.CONFIRM: (GuessConfirmed,),
    Do.RULE_OUT: (GuessRuledOut,),
    Do.EVIDENCE: (EvidenceAdded,),
    Do.LOCK: (LockRequested,),
    Do.RELEASE: (LockReleased,),
    Do.ACTION: (ActionStarted,),
    Do.FINISH: (ActionFinished,),
    Do.DECIDE: (DecisionRecorded,),
    Do.PHASE: (PhaseChanged,),
    Do.SEVERITY: (SeverityChanged,),
    Do.UPDATE: (UpdatePublished,),
    Do.FOLLOW_UP: (FollowUpNoted,),
    Do.ASSIGN: (RoleAssigned,),
    Do.ATTACH: (RunbookAttached,),
    Do.CLAIM_STEP: (ChecklistStepClaimed,),
    Do.DONE_STEP: (ChecklistStepDone,),
    Do.FREEZE: (ChangeFreezeSet,),
    Do.THAW: (ChangeFreezeLifted,),
    Do.PIPELINE: (GateChecked,),
}


@dataclass
class Given:
    """What a step's command takes from the drill as it runs."""

    state: IncidentState
    me: str
    text: str
    now: datetime
    item: int | None = None
    action: uuid.UUID | None = None
    items: dict[str, int] = field(default_factory=dict)
    #: The number (C1, C2...) of the checklist the step's runbook became, once attached.
    checklist: int | None = None


def build(runner: DrillRunner, bot: IncidentClient, step: Step) -> EventBase | None:
    """The command ``bot`` sends for ``step``, or ``None`` if it no longer applies."""
    given = Given(
        state=runner.state,
        me=bot.name,
        text=runner.rng.choice(step.texts) if step.texts else step.text,
        now=runner.clock(),
        item=runner.items.get(step.item) if step.item else None,
        action=runner.actions.get(bot.name),
        items=runner.items,
        checklist=checklist_of(runner.state, step.runbook),
    )
    return command(step, given)


def checklist_of(state: IncidentState, runbook: str) -> int | None:
    """The number of the checklist ``runbook`` was attached as, if it is attached."""
    return next((c.no for c in state.checklists.values() if c.runbook == runbook), None)


def command(step: Step, given: Given) -> EventBase | None:
    """``step``'s command given the drill's present; :class:`EventError` if the core refuses it."""
    built = _parts(step, given)
    if built is None:
        return None
    kind, payload = built
    return draft(kind, **payload)


def problem(step: Step) -> str | None:
    """Why the core would not build ``step``'s command (for any of its texts), or ``None``.

    Values known only at run time get stand-ins: the card it names, the lock (held by the bot
    where the step needs it), the action it finishes.
    """
    for text in step.texts or [step.text]:
        state = IncidentState()
        if step.do in (Do.RELEASE, Do.PIPELINE):
            continue  # the lock's token is known at run time; a pipeline asks the gate (HTTP)
        given = Given(
            state=state,
            me="",
            text=text,
            now=datetime(2026, 1, 1, tzinfo=UTC),
            item=1,
            action=uuid.UUID(int=1),
            items=dict.fromkeys(step.facts, 1),
            checklist=1,
        )
        try:
            command(step, given)
        except EventError as exc:
            return str(exc)
    return None


def _parts(step: Step, given: Given) -> tuple[type[EventBase], dict[str, Any]] | None:
    state, text, item = given.state, given.text, given.item
    evidence = {"kind": "note", "text": step.evidence} if step.evidence else None
    match step.do:
        case Do.NOTE:
            return NoteAdded, {"text": text, "kind": step.kind or "note"}
        case Do.FACT | Do.GUESS:
            return BoardItemAdded, {"kind": step.do.value, "text": text}
        case Do.CLAIM:
            return GuessClaimed, {"item": item}
        case Do.CONFIRM:
            payload: dict[str, Any] = {"item": item}
            if evidence:
                payload["evidence"] = evidence
            return GuessConfirmed, payload
        case Do.RULE_OUT:
            return GuessRuledOut, {"item": item, "evidence": evidence}
        case Do.EVIDENCE:
            return EvidenceAdded, {"item": item, "evidence": evidence}
        case Do.LOCK:
            if state.lock.holder == given.me:
                return None
            return LockRequested, {}
        case Do.RELEASE:
            if state.lock.holder != given.me:
                return None
            return LockReleased, {"token": state.lock.token}
        case Do.ACTION:
            return ActionStarted, {
                "token": state.lock.token if state.lock.holder == given.me else 0,
                "kind": step.kind,
                "target": step.target,
                "expected": step.expected,
                "metric": step.metric,
                "value_before": step.before,
            }
        case Do.FINISH:
            action = given.action
            if action is None:
                return None
            return ActionFinished, {
                "action_id": str(action),
                "value_after": step.after,
                "outcome": step.outcome,
                "note": text,
            }
        case Do.DECIDE:
            return DecisionRecorded, {
                "what": step.what,
                "why": step.why,
                "options": step.options,
                "facts": [given.items[k] for k in step.facts if k in given.items],
                "owner": step.owner or None,
            }
        case Do.PHASE:
            payload = {"phase": step.to, "reason": step.reason}
            if step.to == "resolved":
                payload["resolution"] = text
            return PhaseChanged, payload
        case Do.SEVERITY:
            return SeverityChanged, {"severity": step.to, "reason": step.reason}
        case Do.UPDATE:
            now = given.now
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
            return UpdatePublished, {
                "audience": audience.value,
                "text": render(state, draft, now),
                "fields": fields.model_dump(mode="json"),
                "next_update_at": draft.next_update_at.isoformat()
                if draft.next_update_at
                else None,
            }
        case Do.FOLLOW_UP:
            due = (given.now + timedelta(days=step.due_days)).date()
            return FollowUpNoted, {"text": text, "owner": step.owner, "due": due.isoformat()}
        case Do.ASSIGN:
            return RoleAssigned, {"assigned_role": step.role, "holder": step.to}
    return _runbook_parts(step, given)


def _runbook_parts(step: Step, given: Given) -> tuple[type[EventBase], dict[str, Any]] | None:
    """The runbook and freeze steps' commands (#19)."""
    runbook = runbook_named(step.runbook) if step.runbook else None
    match step.do:
        case Do.ATTACH if runbook is not None:
            return RunbookAttached, _attached(runbook)
        case Do.CLAIM_STEP if given.checklist is not None:
            return ChecklistStepClaimed, {"checklist": given.checklist, "step": step.step}
        case Do.DONE_STEP if given.checklist is not None and runbook is not None:
            production = runbook.steps[step.step - 1].changes_production
            action = given.action if production else None
            if production and action is None:
                return None  # nothing to link: the hub would refuse it, so it is not sent
            return ChecklistStepDone, {
                "checklist": given.checklist,
                "step": step.step,
                "note": given.text,
                "action_id": str(action) if action else None,
            }
        case Do.FREEZE:
            return ChangeFreezeSet, {"targets": step.targets, "reason": step.reason}
        case Do.THAW:
            return ChangeFreezeLifted, {"reason": step.reason}
    return None


def _attached(runbook: Runbook) -> dict[str, Any]:
    """A runbook attached as the console attaches it: its steps as they read now."""
    return {
        "runbook": runbook.name,
        "title": runbook.title,
        "steps": [s.model_dump(mode="json") for s in runbook.steps],
    }
