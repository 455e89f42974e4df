"""The scripted incident's runbook and deploy gate (#19), played at 12:20 by the IC (bo), the
scribe (dee) and the deploy pipeline: one call from ``tests.scripted_incident.play``."""

from __future__ import annotations

from typing import Any

import httpx
from warroom.hub.gate_store import GateCredentials

from warroom.core import checklist as cl
from warroom.core.gate import ChangeFreezeLifted, ChangeFreezeSet

STEPS = [
    {"do": "Confirm a deploy went out just before the symptoms began", "role": "lead"},
    {"do": "Roll payments-api back to the last good build", "changes_production": True},
    {"do": "Pause the deploy pipeline"},
]


async def play_runbook(s: Any, incident_id: str) -> None:
    """Attach the roll-back runbook after the fact, work it, freeze payments-api, and have the
    deploy pipeline refused without the lock's token, then lift the freeze."""
    attach = cl.RunbookAttached(runbook="roll-back-deploy", title="Roll back a deploy", steps=STEPS)
    await s.do("bo", attach)
    await s.do("dee", cl.ChecklistStepClaimed(checklist=1, step=1))
    await s.do("dee", cl.ChecklistStepDone(checklist=1, step=1, note="v412 went out at 08:55"))
    why = "rolled back by hand at 09:58, before the runbook was attached"
    await s.do("bo", cl.ChecklistStepSkipped(checklist=1, step=2, reason=why))
    await s.do("bo", cl.ChecklistStepNotApplicable(checklist=1, step=3, reason="nothing queued"))
    fix = cl.ChecklistStepAdded(checklist=1, do="Review the pool-size fix before any redeploy")
    await s.do("bo", fix)
    await s.do("bo", ChangeFreezeSet(targets=["payments-api"], reason="no redeploy until reviewed"))
    secret = GateCredentials(s.server.config.db).add("deploy-prod")
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"http://127.0.0.1:{s.server.port}/gate/check",
            params={"target": "payments-api", "incident": incident_id},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert answer.json()["reason"] == "no_token", answer.text
    await s.do("bo", ChangeFreezeLifted(reason="the fix is reviewed"))
