"""The drill's scorecard as data, held by the folded state (the event is in ``drill``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Scorecard(BaseModel):
    """How the room did in a drill: the numbers and a few plain-language observations."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    time_to_declare_s: float | None = None
    time_to_first_update_s: float | None = None
    time_to_mitigate_s: float | None = None
    overdue_updates: int = 0
    actions_taken: int = 0
    actions_helped: int = 0
    changes_without_lock: int = 0
    decisions: int = 0
    # runbooks and the deploy gate (#19); a drill without them leaves these empty
    #: Seconds from the declaration to the scenario's runbook (or the first) being attached.
    runbook_attached_s: float | None = None
    checklist_steps: int = 0
    checklist_steps_finished: int = 0
    #: Production-changing steps someone tried to tick without a production action under the
    #: lock (refused by the hub).
    production_steps_by_hand: int = 0
    pipeline_checks: int = 0
    pipelines_blocked: int = 0
    #: Pipelines let through while someone held the lock, without that lease's token.
    pipelines_past_the_lock: int = 0
    observations: list[str] = Field(default_factory=list)
