"""The drill's scorecard, recorded on the incident so the timeline and the export keep it."""

from __future__ import annotations

from typing import Literal

from warroom.core.events import EventBase, event
from warroom.core.scorecard import Scorecard
from warroom.core.state import IncidentState

__all__ = ["DrillScored", "Scorecard"]


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
