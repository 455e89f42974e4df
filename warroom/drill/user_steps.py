"""When the person playing has done a runbook or freeze step of the script (#19).

The script waits on the room's state, not on one exact event: a runbook counts as attached
however it was attached, a step as done once it is finished (done, or set aside by the IC), and a
freeze once it covers the step's targets.
"""

from __future__ import annotations

from warroom.core.checklist_state import ChecklistStep
from warroom.core.gate import freeze_holds
from warroom.core.state import IncidentState
from warroom.drill.scenario import Do, Step


def checklist_step(state: IncidentState, runbook: str, no: int) -> ChecklistStep | None:
    """Step ``no`` of the checklist ``runbook`` was attached as, if it is attached."""
    checklist = next((c for c in state.checklists.values() if c.runbook == runbook), None)
    return checklist.step(no) if checklist is not None else None


def checklist_done(step: Step, state: IncidentState, user: str | None) -> bool:
    """Whether ``user`` has done what ``step`` (an attach, claim, done, freeze, thaw) stands for."""
    if step.do == Do.ATTACH:
        return any(c.runbook == step.runbook for c in state.checklists.values())
    if step.do == Do.FREEZE:
        freeze = freeze_holds(state)
        return freeze is not None and all(freeze.covers(t) for t in step.targets)
    if step.do == Do.THAW:
        return state.freeze is None
    found = checklist_step(state, step.runbook, step.step)
    if found is None:
        return False
    if step.do == Do.CLAIM_STEP:
        return found.claimed_by == user or found.status.finished
    return found.status.finished
