"""A checklist worked on a real hub, exported: its own tables, and the postmortem's section."""

from __future__ import annotations

import sqlite3

from tests.helpers import ROLLBACK, T0, ManualClock, client, declare_incident, running_hub
from tests.test_checklist_console import roll_back
from warroom.core.actions import ActionFinished, ActionStarted
from warroom.core.checklist import (
    ChecklistStepAdded,
    ChecklistStepClaimed,
    ChecklistStepDone,
    ChecklistStepSkipped,
)
from warroom.core.fold import replay
from warroom.core.lock import LockRequested
from warroom.export.exporter import export_incidents
from warroom.export.postmortem import draft
from warroom.export.sources import LogSource


async def test_the_export_and_the_postmortem_carry_the_checklist(tmp_path):
    async with running_hub(tmp_path / "hub.db", clock=ManualClock(T0)) as hub:
        incident = await declare_incident(hub.url)
        ana, bo, cy = [await client(hub.url, n, r, incident) for n, r in
                       (("ana", "ic"), ("bo", "lead"), ("cy", "responder"))]  # fmt: skip
        try:
            for who, command in (
                (ana, roll_back()),
                (bo, ChecklistStepClaimed(checklist=1, step=1)),
                (bo, ChecklistStepDone(checklist=1, step=1, note="build 812")),
                (ana, ChecklistStepSkipped(checklist=1, step=3, reason="pipeline paused")),
                (cy, LockRequested()),
                (cy, ActionStarted(token=1, **ROLLBACK)),
            ):
                assert (await who.post(command)).op == "ack"
            action = next(iter(cy.state.actions.values()))
            for who, command in (
                (cy, ChecklistStepDone(checklist=1, step=4, action_id=action.id)),
                (cy, ActionFinished(action_id=action.id, value_after="1%", outcome="helped")),
                (bo, ChecklistStepAdded(checklist=1, do="Purge the CDN cache")),
            ):
                assert (await who.post(command)).op == "ack"
            log = list(hub.hub.store.events(incident))
        finally:
            for c in (ana, bo, cy):
                await c.close()
    out = tmp_path / "review.db"
    export_incidents(LogSource(log), out, [incident])
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT no, runbook, steps, finished FROM checklists").fetchall() == [
            (1, "roll-back-deploy", 8, 3)
        ]
        rows = db.execute(
            "SELECT no, status, finished_by, reason, action_id, added_by, changes_production "
            "FROM checklist_steps ORDER BY no"
        ).fetchall()
        assert rows[0] == (1, "done", "bo", "build 812", None, None, 0)
        assert rows[2] == (3, "skipped", "ana", "pipeline paused", None, None, 0)
        assert rows[3] == (4, "done", "cy", None, str(action.id), None, 1)
        assert rows[7] == (8, "open", None, None, None, "bo", 0)
        # The step links to its action in the actions table.
        joined = db.execute(
            "SELECT a.outcome FROM checklist_steps s JOIN actions a "
            "ON a.incident_id = s.incident_id AND a.id = s.action_id"
        ).fetchall()
        assert joined == [("helped",)]
    text = draft(replay(log), log)
    assert "## Runbooks followed" in text
    assert "### C1: Roll back a bad deploy (`roll-back-deploy`), 3 of 8 steps finished" in text
    assert "- [x] 1. Confirm a deploy went out shortly before the symptoms began, and which " \
           "service — done by bo at 09:00: build 812" in text  # fmt: skip
    assert "— skipped by ana at 09:00: pipeline paused" in text
    assert "(as the rollback of api, token 1: helped)" in text
    assert "- [ ] 8. Purge the CDN cache _(added by bo)_ — not done" in text


def test_a_postmortem_without_runbooks_has_no_such_section():
    from tests.helpers import make_event

    log = [make_event("incident_declared", 1, title="x", severity="SEV2")]
    assert "Runbooks followed" not in draft(replay(log), log)
