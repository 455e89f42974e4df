"""The drill's scorecard, recorded on the incident so the timeline and the export keep it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.events import EventBase, event
from warroom.core.state import IncidentState


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


@event
class DrillScored(EventBase):
    """Recorded by the hub when a drill ends."""

    type: Literal["drill_scored"] = "drill_scored"
    scorecard: Scorecard

    hub_only = True
    timeline_kind = "drill"

    def fold(self, state: IncidentState) -> IncidentState:
        return state.model_copy(update={"drill_scorecard": self.scorecard})

    def describe(self) -> str:
        card = self.scorecard
        return (
            f"Drill scorecard ({card.scenario}): {card.actions_helped}/{card.actions_taken} "
            f"actions helped, {card.overdue_updates} overdue update(s), "
            f"{card.changes_without_lock} change(s) tried without the lock"
        )
