"""Runbooks as live checklists: who may attach, claim, finish, skip and add steps.

The IC attaches a runbook; its steps become the incident's checklist, shared by the room. Anyone
who writes may claim a step ("I'm on it") and mark it done. Skipping a step or calling it not
applicable, and adding a step the runbook lacks, are the IC's and the technical lead's calls: a
skipped step is a judgement the review will ask about, so it needs a reason.

A step that changes production is done only as a production action under the lock: the done
event names the action, which must have been started by the sender under the lease they hold
now (:func:`warroom.core.lock.fence`), so the step shows the fencing token, the metric before and
after, the outcome and any undo of that action. Nobody ticks "roll back the deploy" by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from warroom.core.board import quote
from warroom.core.checklist_runbook import (
    MAX_INSTRUCTION,
    MAX_STEPS,
    NAME_PATTERN,
    STEP_ROLES,
    RunbookStep,
)
from warroom.core.checklist_state import Checklist, ChecklistStep, StepStatus
from warroom.core.events import Actor, EventBase, Refusal, event, refuse, require_reason
from warroom.core.lock import fence
from warroom.core.production import ProductionAction
from warroom.core.roles import Role
from warroom.core.state import IncidentState

MAX_REASON = 500
#: Checklists one incident may have attached.
MAX_CHECKLISTS = 20


def may_attach(state: IncidentState, name: str) -> bool:
    """Attaching a runbook sets the room's plan: the IC's call."""
    return state.is_ic(name)


def may_shape(state: IncidentState, name: str) -> bool:
    """Adding, skipping or ruling out steps: the IC and the technical lead."""
    return state.is_ic(name) or state.holder(Role.LEAD) == name


def may_finish_claimed(state: IncidentState, name: str, step: ChecklistStep) -> bool:
    """A claimed step is finished by whoever claimed it, or by the IC or the lead."""
    return step.claimed_by in ("", name) or may_shape(state, name)


def actions_for_step(state: IncidentState, name: str) -> list[ProductionAction]:
    """The production actions ``name`` may do a step as (what :class:`ChecklistStepDone`
    accepts): theirs, under the lease they hold now, not yet the action of another step; newest
    first. A pipeline's change recorded through the gate is one of them, so the step is ticked
    as that change instead of a second action being started for it."""
    if state.lock.holder != name:
        return []
    linked = {step.action_id for checklist in state.checklists.values() for step in checklist.steps}
    return [
        action
        for action in reversed(state.actions.values())
        if action.by == name and action.token == state.lock.token and action.id not in linked
    ]


def because(reason: str) -> str:
    """``: the reason`` for a timeline line, shortened; nothing when no reason was given."""
    return f": {quote(reason, 80)}" if reason.strip() else ""


def _with_step(state: IncidentState, checklist: Checklist, step: ChecklistStep) -> IncidentState:
    steps = list(checklist.steps)
    steps[step.no - 1] = step
    checklists = {
        **state.checklists,
        checklist.no: checklist.model_copy(update={"steps": tuple(steps)}),
    }
    return state.model_copy(update={"checklists": checklists})


class ChecklistEvent(EventBase):
    timeline_kind = "checklist"


class StepEvent(ChecklistEvent):
    """An event about one step: ``checklist`` is its number (C1), ``step`` the step's (1-based)."""

    checklist: int = Field(ge=1)
    step: int = Field(ge=1)

    def located(self, state: IncidentState) -> tuple[Checklist, ChecklistStep] | Refusal:
        checklist = state.checklists.get(self.checklist)
        if checklist is None:
            return refuse("unknown_checklist", f"There is no checklist C{self.checklist}.")
        step = checklist.step(self.step)
        if step is None:
            return refuse(
                "unknown_step",
                f"C{self.checklist} has no step {self.step} (it has {len(checklist.steps)}).",
            )
        return checklist, step

    def open_step(self, state: IncidentState) -> tuple[Checklist, ChecklistStep] | Refusal:
        """The step, refused when it is already finished."""
        found = self.located(state)
        if isinstance(found, Refusal):
            return found
        step = found[1]
        if step.status.finished:
            who = f" by {step.finished_by}" if step.finished_by else ""
            return refuse(
                "step_finished",
                f"C{self.checklist}.{self.step} is already {step.status.label}{who}.",
            )
        return found

    def finish(self, state: IncidentState, status: StepStatus, **fields: object) -> IncidentState:
        found = self.located(state)
        if isinstance(found, Refusal):
            return state
        checklist, step = found
        update = {"status": status, "finished_by": self.actor, "finished_at": self.at, **fields}
        return _with_step(state, checklist, step.model_copy(update=update))

    @property
    def ref(self) -> str:
        return f"C{self.checklist}.{self.step}"


@event
class RunbookAttached(ChecklistEvent):
    """The IC attaches a runbook: its steps, as they read now, become a checklist."""

    type: Literal["runbook_attached"] = "runbook_attached"
    runbook: str = Field(pattern=NAME_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    steps: list[RunbookStep] = Field(min_length=1, max_length=MAX_STEPS)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not may_attach(state, actor.name):
            return refuse("forbidden", "Only the incident commander attaches runbooks.")
        for checklist in state.checklists.values():
            if checklist.runbook == self.runbook:
                return refuse(
                    "already_attached", f"{self.runbook} is attached already as {checklist.label}."
                )
        if len(state.checklists) >= MAX_CHECKLISTS:
            return refuse("invalid", f"An incident holds at most {MAX_CHECKLISTS} checklists.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        no = len(state.checklists) + 1
        steps = tuple(
            ChecklistStep(
                no=i,
                do=s.do,
                command=s.command,
                role=s.role,
                changes_production=s.changes_production,
            )
            for i, s in enumerate(self.steps, start=1)
        )
        checklist = Checklist(
            no=no,
            runbook=self.runbook,
            title=self.title,
            attached_by=self.actor,
            attached_at=self.at,
            steps=steps,
        )
        return state.model_copy(update={"checklists": {**state.checklists, no: checklist}})

    def describe(self) -> str:
        return f"Runbook attached: {self.title} ({self.runbook}, {len(self.steps)} steps)"


@event
class ChecklistStepClaimed(StepEvent):
    """Someone says "I'm on it"; a step someone else claimed is taken over only by the IC or
    the lead (to give it to whoever can do it)."""

    type: Literal["checklist_step_claimed"] = "checklist_step_claimed"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self.open_step(state)
        if isinstance(found, Refusal):
            return found
        step = found[1]
        if step.claimed_by == actor.name:
            return refuse("already_claimed", f"You are already on {self.ref}.")
        if step.claimed_by and not may_shape(state, actor.name):
            return refuse("already_claimed", f"{step.claimed_by} is on {self.ref}; ask them.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        found = self.located(state)
        if isinstance(found, Refusal):
            return state
        checklist, step = found
        claimed = step.model_copy(update={"status": StepStatus.CLAIMED, "claimed_by": self.actor})
        return _with_step(state, checklist, claimed)

    def describe(self) -> str:
        return f"{self.actor} is on {self.ref}"


@event
class ChecklistStepDone(StepEvent):
    """A step is done. One that changes production names the production action it was done as."""

    type: Literal["checklist_step_done"] = "checklist_step_done"
    note: str = Field(default="", max_length=MAX_REASON)
    #: The production action (its id) this step was done as: required when the step changes
    #: production, refused when it does not.
    action_id: UUID | None = None

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self.open_step(state)
        if isinstance(found, Refusal):
            return found
        step = found[1]
        if not may_finish_claimed(state, actor.name, step):
            return refuse(
                "forbidden", f"{step.claimed_by} is on {self.ref}; they mark it done (or the IC)."
            )
        if not step.changes_production:
            if self.action_id is not None:
                return refuse("invalid", f"{self.ref} does not change production; drop the action.")
            return None
        if self.action_id is None:
            return refuse(
                "production_step",
                f"{self.ref} changes production: do it as a production action under the lock.",
            )
        action = state.actions.get(str(self.action_id))
        if action is None:
            return refuse("unknown_action", "There is no such production action.")
        if action.by != actor.name:
            return refuse("forbidden", f"That action is {action.by}'s, not yours.")
        for checklist in state.checklists.values():
            for other in checklist.steps:
                if other.action_id == self.action_id:
                    return refuse("invalid", f"That action already did C{checklist.no}.{other.no}.")
        return fence(state, actor.name, action.token, now)

    def fold(self, state: IncidentState) -> IncidentState:
        return self.finish(state, StepStatus.DONE, reason=self.note, action_id=self.action_id)

    def describe(self) -> str:
        note = f": {quote(self.note, 60)}" if self.note else ""
        linked = " as a production action" if self.action_id is not None else ""
        return f"{self.ref} done{linked}{note}"


class StepSetAside(StepEvent):
    """A step the IC or the lead finishes without doing it: skipped (a judgement the review asks
    about, so it needs a reason) or not applicable (a reason helps)."""

    reason: str = Field(default="", max_length=MAX_REASON)

    #: What the step becomes, and whether that needs a reason.
    outcome: ClassVar[StepStatus]
    needs_reason: ClassVar[bool]

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not may_shape(state, actor.name):
            return refuse(
                "forbidden", f"Only the IC or the technical lead marks a step {self.outcome.label}."
            )
        found = self.open_step(state)
        if isinstance(found, Refusal):
            return found
        if self.needs_reason:
            return require_reason(self.reason, f"Say why {self.ref} is {self.outcome.label}.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        return self.finish(state, self.outcome, reason=self.reason.strip())

    def describe(self) -> str:
        return f"{self.ref} {self.outcome.label}{because(self.reason)}"


@event
class ChecklistStepSkipped(StepSetAside):
    """Skipped, with the reason the review will ask for."""

    type: Literal["checklist_step_skipped"] = "checklist_step_skipped"
    outcome = StepStatus.SKIPPED
    needs_reason = True


@event
class ChecklistStepNotApplicable(StepSetAside):
    """Not applying to this incident."""

    type: Literal["checklist_step_not_applicable"] = "checklist_step_not_applicable"
    outcome = StepStatus.NOT_APPLICABLE
    needs_reason = False


@event
class ChecklistStepAdded(ChecklistEvent):
    """The IC or the lead adds a step the runbook lacks, at the end of a checklist."""

    type: Literal["checklist_step_added"] = "checklist_step_added"
    checklist: int = Field(ge=1)
    do: str = Field(min_length=1, max_length=MAX_INSTRUCTION)
    command: str = Field(default="", max_length=1000)
    #: Who is expected to do it (not ``role``: that is the sender's, stamped by the hub).
    expected_role: Role | None = None
    changes_production: bool = False

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not may_shape(state, actor.name):
            return refuse("forbidden", "Only the IC or the technical lead adds checklist steps.")
        checklist = state.checklists.get(self.checklist)
        if checklist is None:
            return refuse("unknown_checklist", f"There is no checklist C{self.checklist}.")
        if not self.do.strip():
            return refuse("invalid", "Say what the step is.")
        if self.expected_role is not None and self.expected_role not in STEP_ROLES:
            return refuse("invalid", f"A step is not for the {self.expected_role} seat.")
        if len(checklist.steps) >= MAX_STEPS:
            return refuse("invalid", f"A checklist holds at most {MAX_STEPS} steps.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        checklist = state.checklists.get(self.checklist)
        if checklist is None:
            return state
        step = ChecklistStep(
            no=len(checklist.steps) + 1,
            do=self.do.strip(),
            command=self.command,
            role=self.expected_role,
            changes_production=self.changes_production,
            added_by=self.actor,
        )
        grown = checklist.model_copy(update={"steps": (*checklist.steps, step)})
        return state.model_copy(update={"checklists": {**state.checklists, checklist.no: grown}})

    def describe(self) -> str:
        prod = " (changes production)" if self.changes_production else ""
        return f"Step added to C{self.checklist}: {quote(self.do)}{prod}"
