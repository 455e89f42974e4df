"""The scorecard's runbook and deploy-gate part (#19): read from what the room recorded.

How soon the runbook was attached, how far its checklist got, whether the step that changes
production was done as a production action under the lock, and what the gate told each
pipeline: blocked while someone held the lock, or let through past the lock because nothing
froze the target. Every number comes from the drill's log, so it says what the room did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from warroom.core.checklist import RunbookAttached
from warroom.core.events import EventBase
from warroom.core.gate import GateChecked
from warroom.core.state import IncidentState
from warroom.drill.scenario import Scenario


@dataclass
class RunbookScore:
    """The numbers (named as the :class:`~warroom.core.scorecard.Scorecard` fields) and notes."""

    fields: dict[str, float | int | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def score_runbook_and_gate(
    state: IncidentState, scenario: Scenario, log: Sequence[EventBase], steps_by_hand: int
) -> RunbookScore:
    found = RunbookScore()
    _attachment(found, state, scenario, log)
    _checklists(found, state, steps_by_hand)
    _pipelines(found, log, state.declared_at)
    return found


def _attachment(
    found: RunbookScore, state: IncidentState, scenario: Scenario, log: Sequence[EventBase]
) -> None:
    expect = scenario.expect
    wanted = expect.runbook
    attached = next(
        (e for e in log if isinstance(e, RunbookAttached) and e.runbook == (wanted or e.runbook)),
        None,
    )
    declared = state.declared_at
    if attached is None or attached.at is None or declared is None:
        if wanted:
            found.notes.append(
                f"The {wanted} runbook was never attached: the room worked without its checklist."
            )
        return
    after = (attached.at - declared).total_seconds()
    found.fields["runbook_attached_s"] = after
    said = f"The {attached.runbook} runbook was attached {after / 60:.1f} min after the declaration"
    if expect.attach_within_minutes is None:
        found.notes.append(said + ".")
        return
    verdict = "within" if after <= expect.attach_within_minutes * 60 else "beyond"
    found.notes.append(f"{said}, {verdict} the {expect.attach_within_minutes} min it allows.")


def _checklists(found: RunbookScore, state: IncidentState, steps_by_hand: int) -> None:
    checklists = list(state.checklists.values())
    found.fields["checklist_steps"] = sum(len(c.steps) for c in checklists)
    found.fields["checklist_steps_finished"] = sum(c.finished for c in checklists)
    found.fields["production_steps_by_hand"] = steps_by_hand
    for checklist in checklists:
        found.notes.append(
            f"Checklist {checklist.label} ({checklist.title}): {checklist.finished} of "
            f"{len(checklist.steps)} steps finished."
        )
        for step in checklist.steps:
            if not step.changes_production:
                continue
            ref = f"{checklist.label}.{step.no}"
            action = state.actions.get(str(step.action_id)) if step.action_id else None
            if action is not None:
                found.notes.append(
                    f"{ref} changes production and was done as {action.by}'s production action "
                    f"under the lock (token {action.token})."
                )
            else:
                found.notes.append(f"{ref} changes production and was {step.status.label}.")
    if steps_by_hand:
        found.notes.append(
            f"{steps_by_hand} attempt(s) to tick a production-changing step by hand were refused: "
            "it is done as a production action under the lock."
        )


def _pipelines(found: RunbookScore, log: Sequence[EventBase], declared: datetime | None) -> None:
    """Each check against the lock as it stood just before it was recorded."""
    state = IncidentState()
    checks = blocked = past = 0
    for event in log:
        if isinstance(event, GateChecked):
            checks += 1
            lock = state.lock
            when = _mmss((event.at - declared).total_seconds()) if event.at and declared else "?"
            if not event.allowed:
                blocked += 1
                held = (
                    f" while {lock.holder} held the lock"
                    if lock.holder
                    else " (the freeze still held; nobody held the lock)"
                )
                found.notes.append(
                    f"{event.credential} was blocked from {event.target} at {when}{held}."
                )
            elif lock.holder is not None and event.token != lock.token:
                past += 1
                found.notes.append(
                    f"{event.credential} changed {event.target} at {when} while {lock.holder} "
                    f"held the lock, without that lease's token: nothing froze {event.target}."
                )
        state = event.fold(state)  # the lock as it stood (the log may start mid-way)
    found.fields.update(
        pipeline_checks=checks, pipelines_blocked=blocked, pipelines_past_the_lock=past
    )
