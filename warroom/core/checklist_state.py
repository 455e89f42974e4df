"""The incident's checklists as data: what the folded state holds (the rules are in
:mod:`warroom.core.checklist`).

A checklist is a runbook attached to the incident: its steps are copied in at that moment, so the
record says what the room was asked to do even if the file changes later. Each step moves from
open to claimed ("I'm on it") to done, or is skipped with a reason, or marked not applicable.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from warroom.core.roles import Role


class StepStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not_applicable"

    @property
    def finished(self) -> bool:
        """Nothing more to do on it: done, skipped or not applicable."""
        return self in (StepStatus.DONE, StepStatus.SKIPPED, StepStatus.NOT_APPLICABLE)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class ChecklistStep(BaseModel):
    """One step of an attached checklist, as the room has worked it."""

    model_config = ConfigDict(frozen=True)

    no: int
    do: str
    command: str = ""
    role: Role | None = None
    changes_production: bool = False
    status: StepStatus = StepStatus.OPEN
    claimed_by: str = ""
    #: Who finished it (done, skipped, not applicable) and when.
    finished_by: str = ""
    finished_at: datetime | None = None
    #: Why it was skipped or is not applicable; a note when done.
    reason: str = ""
    #: The production action it was done as (a step that changes production).
    action_id: UUID | None = None
    #: Added during the incident (not in the runbook): by whom.
    added_by: str = ""


def progress_line(checklists: dict[int, Checklist]) -> str:
    """One line for the summary and the briefing: each checklist with its progress."""
    return "; ".join(f"{c.label} {c.title}: {c.progress}" for c in checklists.values())


class Checklist(BaseModel):
    """A runbook attached to the incident, numbered in the order attached (``C1``, ``C2``)."""

    model_config = ConfigDict(frozen=True)

    #: Its steps in order, numbered from 1.
    steps: tuple[ChecklistStep, ...] = ()
    no: int
    #: The runbook's name (its file's), and its title when it was attached.
    runbook: str
    title: str
    #: When it was attached, and by whom (the IC).
    attached_at: datetime | None = None
    attached_by: str

    def step(self, no: int) -> ChecklistStep | None:
        return self.steps[no - 1] if 1 <= no <= len(self.steps) else None

    @property
    def label(self) -> str:
        return f"C{self.no}"

    @property
    def finished(self) -> int:
        return sum(1 for s in self.steps if s.status.finished)

    @property
    def progress(self) -> str:
        """``3/7``: finished steps of all steps."""
        return f"{self.finished}/{len(self.steps)}"
