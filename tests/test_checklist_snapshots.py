"""Snapshots of the Steps pane: a runbook being worked (claimed, done, skipped, a production step
done as an action) under a change freeze, at 80x24 and 140x45."""

from __future__ import annotations

import uuid

from tests.console_helpers import People, ThreadedHub, snap_console
from tests.helpers import ROLLBACK
from tests.test_checklist_console import roll_back
from warroom.core.actions import ActionStarted
from warroom.core.checklist import (
    ChecklistStepAdded,
    ChecklistStepClaimed,
    ChecklistStepDone,
    ChecklistStepSkipped,
)
from warroom.core.gate import ChangeFreezeSet
from warroom.core.lock import LockRequested


def worked(hub: ThreadedHub) -> None:
    """ana (IC) attaches the roll-back runbook; bo, cy and the IC work it."""
    people = People(hub)
    for name, role in (("ana", "ic"), ("bo", "lead"), ("cy", "responder")):
        people.join(name, role)
    people.post("ana", roll_back(), 1)
    people.post("bo", ChecklistStepClaimed(checklist=1, step=1), 2)
    people.post("bo", ChecklistStepDone(checklist=1, step=1, note="build 812 is good"), 3)
    people.post("ana", ChecklistStepDone(checklist=1, step=2), 3)
    people.post("ana", ChecklistStepSkipped(checklist=1, step=3, reason="pipeline paused"), 4)
    people.post("ana", ChangeFreezeSet(targets=["checkout-api"], reason="rollback first"), 4)
    people.post("cy", LockRequested(), 5)
    action = uuid.UUID("00000000-0000-4000-8000-000000000019")
    people.post("cy", ActionStarted(id=action, token=1, **ROLLBACK), 6)
    people.post("cy", ChecklistStepDone(checklist=1, step=4, action_id=action), 6)
    people.post("cy", ChecklistStepClaimed(checklist=1, step=5), 7)
    people.post("bo", ChecklistStepAdded(checklist=1, do="Purge the CDN cache"), 8)
    people.close()


def test_checklist_80x24(snap_compare, tmp_path):
    assert snap_console(
        snap_compare, tmp_path, worked, name="cy", role="responder", press=["8", "up", "up"],
        size=(80, 24),
    )  # fmt: skip


def test_checklist_140x45(snap_compare, tmp_path):
    assert snap_console(
        snap_compare, tmp_path, worked, name="ana", role="ic", press=["8", "up", "up", "up", "up"],
        size=(140, 45),
    )  # fmt: skip
