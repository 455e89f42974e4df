"""What the drill coach says: the scenario's hint, then the keys that do it, from any pane.

A first-timer learns the tool in the drill, so a hint that says *what* to do ("move the incident
to mitigating") is only half of it: the coach also names the keys. They are the console's
shortest paths (README's key table), so the drill teaches what the real incident will need.
"""

from __future__ import annotations

from warroom.core.phases import Phase
from warroom.core.severity import Severity
from warroom.drill.scenario import Do, Step
from warroom.drill.scenario_gate import runbook_named

#: The keys for each kind of step, from any pane of the console.
KEYS: dict[Do, str] = {
    Do.NOTE: "press 1 then n, type it, Enter",
    Do.FACT: "press A, type the fact, Enter",
    Do.GUESS: "press G, type the guess, Enter",
    Do.CLAIM: "press 2, then l to reach the open guesses, j/k to pick one, then c",
    Do.CONFIRM: "press 2, then f (it opens on the highlighted open guess), then Enter",
    Do.RULE_OUT: "press 2, then r on the highlighted open guess, say what ruled it out, Enter",
    Do.EVIDENCE: "press 2, pick the card with the arrows, then e",
    Do.LOCK: "press L (or 4 then l)",
    Do.RELEASE: "press 4 then x",
    Do.ACTION: "press 4 then a (you need the lock first)",
    Do.FINISH: "press 4 then f",
    Do.DECIDE: "press D, type what, Enter, type why, ctrl+s",
    Do.UPDATE: "press E (external) or I (internal), then ctrl+s to preview and ctrl+s to publish",
    Do.FOLLOW_UP: "press 3 then a",
    Do.ASSIGN: "press 6, pick the role with the arrows, then a",
    Do.ATTACH: "press 8 then a, pick the runbook, Enter",
    Do.CLAIM_STEP: "press 8, pick the step with the arrows, then c",
    Do.DONE_STEP: "press 8, pick the step with the arrows, then d",
    Do.FREEZE: "press 8 then z, type the targets, Enter, why, Enter",
    Do.THAW: "press 8 then Z",
}


def keys_for(step: Step) -> str:
    """The keys that do ``step`` in the console, as the coach says them."""
    if step.do == Do.PHASE and step.to in {p.value for p in Phase}:
        phase = Phase(step.to)
        number = list(Phase).index(phase) + 1
        then = "type the summary, Enter, Enter" if phase == Phase.RESOLVED else "Enter"
        return f"press P, then {number} for {phase.value}, then {then}"
    if step.do == Do.DONE_STEP and _changes_production(step):
        return (
            "take the lock (L), then press 8, pick the step with the arrows, d, and fill in "
            "the production action"
        )
    if step.do == Do.SEVERITY and step.to in {s.value for s in Severity}:
        return f"press V, then {Severity(step.to).value[-1]}, type why, Enter"
    return KEYS.get(step.do, "")


def _changes_production(step: Step) -> bool:
    runbook = runbook_named(step.runbook)
    return (
        runbook is not None
        and 0 < step.step <= len(runbook.steps)
        and (runbook.steps[step.step - 1].changes_production)
    )


def coach_hint(step: Step) -> str:
    """The whole line the coach posts: the scenario's hint and the keys."""
    hint = step.hint or f"Your turn: {step.do.value.replace('_', ' ')}."
    keys = keys_for(step)
    return f"DRILL: {hint.rstrip()} Keys: {keys}." if keys else f"DRILL: {hint}"
