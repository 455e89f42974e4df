"""Production actions: the changes made under the lock, each measured before and after.

Mitigate first, understand second, but measure: an action names the metric to watch and its
value before; finishing it records the value after and whether it helped. A mitigation that did
not move the metric is undone before the next one is tried, so an action that did not help is
flagged until an undo action (``undoes``) reverses it.

Starting an action is fenced by the lock (:func:`warroom.core.lock.fence`): it carries the token of
the lease it was started under, and the hub refuses it from anyone but the current holder, or
with any token but the current lease's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from warroom.core.events import Actor, EventBase, Refusal, event, refuse
from warroom.core.lock import fence
from warroom.core.production import ActionKind, ActionOutcome, ProductionAction
from warroom.core.state import IncidentState

MAX_FIELD = 500


class ActionEvent(EventBase):
    timeline_kind = "action"
    #: Done before it was written down: the scribe may say when it happened.
    retimable = True


@event
class ActionStarted(ActionEvent):
    """The lock holder changes production. The event's id becomes the action's id."""

    type: Literal["action_started"] = "action_started"
    #: The fencing token of the lease this action was started under.
    token: int = Field(ge=0)
    kind: ActionKind
    target: str = Field(min_length=1, max_length=MAX_FIELD)
    expected: str = Field(min_length=1, max_length=MAX_FIELD)
    metric: str = Field(min_length=1, max_length=MAX_FIELD)
    value_before: str = Field(min_length=1, max_length=MAX_FIELD)
    undoes: UUID | None = None

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = fence(state, actor.name, self.token, now)
        if refusal is not None:
            return refusal
        for name, value in (
            ("target", self.target),
            ("expected change", self.expected),
            ("metric", self.metric),
            ("value before", self.value_before),
        ):
            if not value.strip():
                return refuse("invalid", f"An action needs its {name}.")
        if self.undoes is not None:
            original = state.actions.get(str(self.undoes))
            if original is None:
                return refuse("unknown_action", "There is no such action to undo.")
            if original.open:
                return refuse(
                    "action_open",
                    f"Record how '{original.target}' went (value after) before undoing it.",
                )
            if original.undone_by is not None:
                return refuse("already_undone", f"'{original.target}' has already been undone.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        actions = dict(state.actions)
        actions[str(self.id)] = ProductionAction(
            id=self.id,
            token=self.token,
            kind=self.kind,
            target=self.target,
            expected=self.expected,
            metric=self.metric,
            value_before=self.value_before,
            by=self.actor,
            started_at=self.at,
            undoes=self.undoes,
        )
        if self.undoes is not None and str(self.undoes) in actions:
            original = actions[str(self.undoes)]
            actions[str(self.undoes)] = original.model_copy(update={"undone_by": self.id})
        return state.model_copy(update={"actions": actions})

    def describe(self) -> str:
        undo = "Undo: " if self.undoes is not None else ""
        return (
            f"{undo}{self.kind.label} {self.target} (token {self.token}); expect: "
            f"{self.expected}; {self.metric} before: {self.value_before}"
        )


@event
class ActionFinished(ActionEvent):
    """The value after and the outcome of an action, recorded by whoever made or now owns it."""

    type: Literal["action_finished"] = "action_finished"
    action_id: UUID
    value_after: str = Field(min_length=1, max_length=MAX_FIELD)
    outcome: ActionOutcome
    note: str = Field(default="", max_length=MAX_FIELD)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        action = state.actions.get(str(self.action_id))
        if action is None:
            return refuse("unknown_action", "There is no such action.")
        if not action.open:
            return refuse(
                "already_finished", f"'{action.target}' was already recorded as {action.outcome}."
            )
        if not may_finish(state, actor.name, action):
            return refuse(
                "forbidden",
                f"Only {action.by}, who made it, or the lock holder records how it went.",
            )
        if not self.value_after.strip():
            return refuse("invalid", f"Record the value of {action.metric} after the action.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        key = str(self.action_id)
        action = state.actions.get(key)
        if action is None or not action.open:
            return state
        actions = dict(state.actions)
        actions[key] = action.model_copy(
            update={
                "finished_at": self.at,
                "finished_by": self.actor,
                "value_after": self.value_after,
                "outcome": self.outcome,
                "note": self.note,
            }
        )
        return state.model_copy(update={"actions": actions})

    def describe(self) -> str:
        note = f"; {self.note}" if self.note else ""
        return f"Action result: {self.outcome.label}; value after: {self.value_after}{note}"


def open_actions(state: IncidentState) -> list[ProductionAction]:
    """Actions still waiting for their value after, oldest first."""
    return [a for a in state.actions.values() if a.open]


def may_finish(state: IncidentState, name: str, action: ProductionAction) -> bool:
    """Who records how an action went: whoever made it, or whoever holds the lock now."""
    return name in (action.by, state.lock.holder)


def undo_pending(state: IncidentState) -> list[ProductionAction]:
    """Finished actions that did not help and have not been undone, oldest first."""
    return [a for a in state.actions.values() if a.wants_undo]
