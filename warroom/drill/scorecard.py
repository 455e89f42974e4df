"""The drill's scorecard: response times, how the changes went, and plain observations.

Computed from the folded state only (plus the hub's count of refused production actions, which
are never stored), so the same numbers appear at the end of the drill and in the export.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from warroom.core.drill import Scorecard
from warroom.core.events import EventBase
from warroom.core.metrics import compute
from warroom.core.roles import Role
from warroom.core.state import IncidentState
from warroom.drill.scenario import Scenario
from warroom.drill.scorecard_gate import score_runbook_and_gate


def _minutes(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    return f"{delta.total_seconds() / 60:.1f} min"


def score(
    state: IncidentState,
    scenario: Scenario,
    changes_without_lock: int = 0,
    user_role: Role | None = None,
    log: Sequence[EventBase] = (),
    steps_by_hand: int = 0,
) -> Scorecard:
    """The scorecard; ``user_role`` is the role a person played (``None``: all simulated).

    ``log`` is the drill incident's events (the gate's checks are read from it) and
    ``steps_by_hand`` the hub's count of production steps refused without an action."""
    declared = state.declared_at
    detect_to_declare = declared - state.detected_at if declared and state.detected_at else None
    comms = getattr(state, "comms", None)
    updates = list(getattr(comms, "updates", []) or [])
    first_update = updates[0].at - declared if updates and declared else None
    overdue = len(getattr(comms, "overdue_episodes", []) or [])
    to_mitigate = compute(state).time_to_mitigate
    actions = list((getattr(state, "actions", {}) or {}).values())
    helped = [a for a in actions if str(getattr(a.outcome, "value", a.outcome)) == "helped"]
    decisions = len(getattr(state, "decisions", {}) or {})

    notes: list[str] = []
    policy = state.settings.policy
    if first_update is None:
        notes.append("No stakeholder update was published: silence is the worst update.")
    elif first_update <= policy.first_update_after:
        notes.append(
            f"The first stakeholder update went out {_minutes(first_update)} after the "
            f"declaration, within the {_minutes(policy.first_update_after)} target."
        )
    else:
        notes.append(
            f"The first stakeholder update took {_minutes(first_update)}; aim for "
            f"{_minutes(policy.first_update_after)}."
        )
    if overdue:
        comms_bot = next((r for r in scenario.responders if r.role == Role.COMMS), None)
        if user_role is not None and user_role != Role.COMMS and comms_bot is not None:
            notes.append(
                f"{overdue} update deadline(s) passed without an update; {comms_bot.name}, the "
                "simulated comms lead, owed it."
            )
        else:
            notes.append(f"{overdue} update deadline(s) passed without an update.")
    expect = scenario.expect
    if expect.severity is not None:
        if state.severity.level <= expect.severity.level:
            notes.append(f"Severity ended at {state.severity}, as this scenario calls for.")
        else:
            notes.append(
                f"Severity ended at {state.severity}; this scenario calls for {expect.severity}."
            )
    kinds_helped = {str(getattr(a.kind, "value", a.kind)) for a in helped}
    for kind in expect.helpful_actions:
        if kind in kinds_helped:
            notes.append(f"The {kind.replace('_', ' ')} was what helped.")
    not_helped = [a for a in actions if a not in helped]
    if not_helped:
        undone = [
            a
            for a in not_helped
            if str(getattr(a.outcome, "value", a.outcome)) == "undone"
            or getattr(a, "undone_by", None)
        ]
        notes.append(
            f"{len(not_helped)} change(s) did not help"
            + (f"; {len(undone)} undone before the next try." if undone else ".")
        )
    if changes_without_lock:
        notes.append(
            f"{changes_without_lock} production change(s) were attempted without the "
            "lock and refused by the hub."
        )
    else:
        notes.append("Every production change went through the lock.")
    if expect.mitigate_within_minutes is not None and to_mitigate is not None:
        target = timedelta(minutes=expect.mitigate_within_minutes)
        verdict = "within" if to_mitigate <= target else "beyond"
        notes.append(
            f"Mitigated {_minutes(to_mitigate)} after the problem was detected, {verdict} the "
            f"{expect.mitigate_within_minutes} min this scenario allows."
        )
    if decisions == 0:
        notes.append("No decision was recorded: write the calls down, with their reasons.")
    runbook = score_runbook_and_gate(state, scenario, log, steps_by_hand)
    notes += runbook.notes

    return Scorecard(
        scenario=scenario.scenario.name,
        time_to_declare_s=_s(detect_to_declare),
        time_to_first_update_s=_s(first_update),
        time_to_mitigate_s=_s(to_mitigate),
        overdue_updates=overdue,
        actions_taken=len(actions),
        actions_helped=len(helped),
        changes_without_lock=changes_without_lock,
        decisions=decisions,
        observations=notes,
        **runbook.fields,
    )


def _runbook_lines(card: Scorecard, m: Callable[[float | None], str]) -> list[str]:
    """The runbook and gate rows, for a drill that has a checklist or a pipeline."""
    if not (card.checklist_steps or card.pipeline_checks or card.runbook_attached_s is not None):
        return []
    steps = f"{card.checklist_steps_finished} / {card.checklist_steps}"
    gate = f"{card.pipelines_blocked} / {card.pipeline_checks}"
    return [
        f"  runbook attached after                 {m(card.runbook_attached_s)}",
        f"  checklist steps (finished / all)       {steps}",
        f"  production steps ticked by hand        {card.production_steps_by_hand}",
        f"  pipeline checks (blocked / all)        {gate}",
        f"  pipelines let past the lock            {card.pipelines_past_the_lock}",
    ]


def _s(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def render_text(card: Scorecard) -> str:
    def m(seconds: float | None) -> str:
        return "—" if seconds is None else f"{seconds / 60:.1f} min"

    lines = [
        f"Drill scorecard: {card.scenario}",
        "",
        f"  time to declare (detected → declared)  {m(card.time_to_declare_s)}",
        f"  time to first stakeholder update       {m(card.time_to_first_update_s)}",
        f"  time to mitigate                       {m(card.time_to_mitigate_s)}",
        f"  overdue updates                        {card.overdue_updates}",
        f"  production actions (helped / taken)    {card.actions_helped} / {card.actions_taken}",
        f"  changes attempted without the lock     {card.changes_without_lock}",
        f"  decisions recorded                     {card.decisions}",
        *_runbook_lines(card, m),
        "",
        "Observations:",
        *[f"  - {note}" for note in card.observations],
    ]
    return "\n".join(lines)
