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
    observations: list[str] = Field(default_factory=list)
