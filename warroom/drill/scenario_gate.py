"""Checking a scenario's runbook and gate steps when it loads (see docs/SCENARIOS.md).

A drill's hub serves the runbooks that ship with warroom, so a scenario attaches one of those by
name; its claim and done steps name a step of a runbook attached earlier in the script, and a
step that changes production is done only as a production action, so the script must start one
first. Every problem is reported with the step's line, like the rest of the scenario.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from warroom.core.checklist_runbook import Runbook
from warroom.core.gate_state import ALL_TARGETS, valid_target
from warroom.core.production import ActionKind
from warroom.drill.scenario import Do, StepProblem

if TYPE_CHECKING:
    from warroom.drill.scenario import Scenario, Step

#: The kinds of step that name a step of an attached runbook.
RUNBOOK_STEP_KINDS = (Do.CLAIM_STEP, Do.DONE_STEP)


@cache
def shipped_runbooks() -> dict[str, Runbook]:
    """The runbooks that ship with warroom (the ones a drill's hub serves), by name."""
    from warroom.hub.runbooks import load_dir, shipped_dir  # the hub reads them the same way

    return {runbook.name: runbook for runbook in load_dir(shipped_dir())}


def runbook_named(name: str) -> Runbook | None:
    return shipped_runbooks().get(name)


def unknown_runbook(name: str) -> str:
    return f"no shipped runbook {name!r}; the drill's hub serves {', '.join(shipped_runbooks())}"


def check_runbook_steps(scenario: Scenario) -> None:
    """Raise :class:`StepProblem` for the first runbook or gate step that cannot work."""
    attached: set[str] = set()
    acted: set[str] = set()  # responders who started a production action earlier
    pipeline_started = False
    for i, step in enumerate(scenario.steps):
        match step.do:
            case Do.ATTACH:
                if runbook_named(step.runbook) is None:
                    raise StepProblem(i, "runbook", unknown_runbook(step.runbook))
                if step.runbook in attached:
                    raise StepProblem(i, "runbook", f"{step.runbook!r} is attached twice")
                attached.add(step.runbook)
            case Do.CLAIM_STEP | Do.DONE_STEP:
                _check_step_ref(i, step, attached, step.by in acted or pipeline_started)
            case Do.FREEZE:
                bad = [t for t in step.targets if t != ALL_TARGETS and not valid_target(t)]
                if bad:
                    raise StepProblem(i, "targets", f"{bad[0]!r} is not a target name (or *)")
            case Do.PIPELINE:
                _check_pipeline(i, step)
                pipeline_started |= step.started
            case Do.ACTION:
                acted.add(step.by)


def _check_step_ref(index: int, step: Step, attached: set[str], has_action: bool) -> None:
    runbook = runbook_named(step.runbook)
    if runbook is None:
        raise StepProblem(index, "runbook", unknown_runbook(step.runbook))
    if step.runbook not in attached:
        raise StepProblem(index, "runbook", f"no earlier attach step for {step.runbook!r}")
    if step.step > len(runbook.steps):
        raise StepProblem(
            index, "step", f"{step.runbook} has {len(runbook.steps)} steps, not {step.step}"
        )
    production = runbook.steps[step.step - 1].changes_production
    if step.do == Do.DONE_STEP and production and not has_action:
        raise StepProblem(
            index,
            "step",
            f"step {step.step} of {step.runbook} changes production: it is done as a "
            f"production action, so an earlier action step by {step.by} (or a pipeline "
            "step with started = true) is needed",
        )


def _check_pipeline(index: int, step: Step) -> None:
    if not valid_target(step.target):
        raise StepProblem(
            index, "target", f"{step.target!r} is not a target name (like checkout-api)"
        )
    if step.kind and step.kind not in {k.value for k in ActionKind}:
        known = ", ".join(k.value for k in ActionKind)
        raise StepProblem(index, "kind", f"kind is one of {known}")
    if step.started and step.presents != "lock":
        raise StepProblem(
            index,
            "started",
            'started = true needs presents = "lock": only a change under the live lease is '
            "recorded as a production action",
        )
