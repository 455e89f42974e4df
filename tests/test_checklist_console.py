"""The Checklist pane (key 8) in real consoles on a real hub serving the shipped runbooks."""

from __future__ import annotations

import contextlib

from textual.widgets import Input, OptionList
from warroom.hub.runbooks import load_dir, shipped_dir
from warroom.hub.runbooks_config import RunbooksConfig

from tests.console_helpers import console_session, screen_text
from tests.helpers import T0, ManualClock, running_hub
from warroom.console.screens.checklist_forms import (
    AttachForm,
    LinkActionForm,
    ProductionStepForm,
    StepReasonForm,
)
from warroom.console.widgets.checklist import ChecklistPane
from warroom.core.actions import ActionStarted
from warroom.core.checklist import (
    ChecklistStepAdded,
    ChecklistStepClaimed,
    ChecklistStepDone,
    ChecklistStepSkipped,
    RunbookAttached,
)
from warroom.core.checklist_state import StepStatus
from warroom.core.lock import LockRequested


@contextlib.asynccontextmanager
async def room(tmp_path, **kw):
    async with (
        running_hub(
            tmp_path / "hub.db", clock=ManualClock(T0), runbooks=RunbooksConfig(examples=True)
        ) as hub,
        console_session(tmp_path, hub=hub, **kw) as s,
    ):
        yield s


def roll_back() -> RunbookAttached:
    runbook = next(r for r in load_dir(shipped_dir()) if r.name == "roll-back-deploy")
    return RunbookAttached(
        runbook=runbook.name, title=runbook.title, steps=[s.model_dump() for s in runbook.steps]
    )


def steps(s):
    return s.app.client.state.checklists[1].steps if 1 in s.app.client.state.checklists else ()


async def test_the_ic_attaches_the_suggested_runbook_from_the_pane(tmp_path):
    async with room(tmp_path, name="ana", role="ic") as s:
        pane = await s.show_pane("8", ChecklistPane)
        assert "No runbook attached yet" in screen_text(s.app)
        await s.pilot.press("a")
        await s.wait_for(lambda: isinstance(s.app.screen, AttachForm))
        listed = s.app.screen.query_one("#runbook-list", OptionList)
        first = str(listed.get_option_at_index(0).prompt)
        # "Checkout errors after deploy": the deploy runbook is suggested, first.
        assert first.startswith("Roll back a bad deploy") and "suggested[/b]: deploy" in first
        await s.pilot.press("enter")
        await s.wait_for(lambda: 1 in pane.state.checklists)
        c1 = pane.state.checklists[1]
        assert c1.runbook == "roll-back-deploy" and c1.attached_by == "ana" and len(c1.steps) == 7
        text = screen_text(s.app)
        assert "C1 Roll back a bad deploy  0/7" in text and "⚠ prod" in text


async def test_a_responder_may_not_attach_and_the_key_says_why(tmp_path):
    async with room(tmp_path, name="cy", role="responder", seed=True) as s:
        await s.show_pane("8", ChecklistPane)
        await s.pilot.press("a")
        await s.pilot.pause()
        assert not isinstance(s.app.screen, AttachForm)
        said = [str(n.message) for n in s.app._notifications]
        assert said == ["Only the incident commander attaches runbooks."]


async def test_three_people_work_a_checklist_live(tmp_path):
    """ana (IC) attaches, bo (lead) claims, dee is refused cy's step, cy claims and finishes from
    the console, ana skips; cy's console shows each change as it lands."""
    async with room(tmp_path, name="cy", role="responder") as s:
        ana = await s.peer("ana", "ic")
        bo = await s.peer("bo", "lead")
        await ana.post(roll_back())
        pane = await s.show_pane("8", ChecklistPane)
        await s.wait_for(lambda: len(steps(s)) == 7)
        # cy claims step 1 with c (the highlight starts on the first open step).
        await s.pilot.press("c")
        await s.wait_for(lambda: steps(s)[0].claimed_by == "cy")
        # dee cannot mark cy's step done; cy can, from the console.
        dee = await s.peer("dee", "responder")
        refused = await dee.post(ChecklistStepDone(checklist=1, step=1))
        assert refused.op == "error" and refused.code == "forbidden"
        await s.pilot.press("d")
        await s.wait_for(lambda: steps(s)[0].status == StepStatus.DONE)
        # cy may not skip (the key says why); bo, the lead, skips step 3 with a reason.
        await s.pilot.press("down", "down", "s")
        await s.pilot.pause()
        assert not isinstance(s.app.screen, StepReasonForm)
        await bo.post(ChecklistStepClaimed(checklist=1, step=2))
        skipped = await ana.post(
            ChecklistStepSkipped(checklist=1, step=3, reason="pipeline already paused")
        )
        assert skipped.op == "ack"
        await s.wait_for(lambda: steps(s)[2].status == StepStatus.SKIPPED)
        text = screen_text(s.app)
        assert "bo is on it" in text and "skipped · ana" in text
        assert pane.query_one("#checklist-list", OptionList).border_subtitle == "2/7 done"


async def test_a_production_step_is_refused_without_the_lock_and_done_as_an_action_with_it(
    tmp_path,
):
    async with room(tmp_path, name="cy", role="responder") as s:
        ana = await s.peer("ana", "ic")
        await ana.post(roll_back())
        await s.show_pane("8", ChecklistPane)
        await s.wait_for(lambda: len(steps(s)) == 7)
        await s.pilot.press("down", "down", "down")  # step 4: roll back (changes production)
        await s.pilot.press("d")
        await s.pilot.pause()
        assert not isinstance(s.app.screen, ProductionStepForm)
        assert "C1.4 changes production: only the lock holder" in screen_text(s.app)
        assert steps(s)[3].status == StepStatus.OPEN
        # With the lock, d opens the action form; sending it does the step as that action.
        s.app.send_command(LockRequested)
        await s.wait_for(lambda: s.app.client.state.lock.holder == "cy")
        await s.pilot.press("d")
        await s.wait_for(lambda: isinstance(s.app.screen, ProductionStepForm))
        form = s.app.screen
        assert form.query_one("#action-expected", Input).value.startswith("C1.4: Roll the service")
        form.query_one("#action-target", Input).value = "checkout-api"
        form.query_one("#action-metric", Input).value = "5xx rate"
        form.query_one("#action-before", Input).value = "14%"
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: steps(s)[3].status == StepStatus.DONE)
        step = steps(s)[3]
        action = s.app.client.state.actions[str(step.action_id)]
        assert action.by == "cy" and action.token == 1 and action.target == "checkout-api"
        text = screen_text(s.app)
        assert "Action token 1: rollback checkout-api; 5xx rate 14%" in text


async def holding_the_lock_with_an_action(s, kind: str, target: str):  # noqa: ANN001
    """cy (the console) holds the lock over C1 and has recorded one production action, as the
    gate records a pipeline's change; that action."""
    ana = await s.peer("ana", "ic")
    await ana.post(roll_back())
    pane = await s.show_pane("8", ChecklistPane)
    await s.wait_for(lambda: len(steps(s)) == 7)
    s.app.send_command(LockRequested)
    await s.wait_for(lambda: s.app.client.state.lock.holder == "cy")
    s.app.send_command(
        ActionStarted, token=1, kind=kind, target=target, expected="back to normal",
        metric="5xx rate", value_before="14%",
    )  # fmt: skip
    await s.wait_for(lambda: len(s.app.client.state.actions) == 1)
    (recorded,) = s.app.client.state.actions.values()
    return ana, pane, recorded


async def test_a_production_step_is_done_as_the_action_already_recorded_under_the_lock(tmp_path):
    """The pipeline (or the Lock pane) already recorded the rollback as the holder's action: d on
    the step links that action instead of starting a second one; n still starts a new one."""
    async with room(tmp_path, name="cy", role="responder") as s:
        ana, pane, recorded = await holding_the_lock_with_an_action(s, "rollback", "checkout-api")
        await s.pilot.press("down", "down", "down")  # step 4: roll back (changes production)
        await s.pilot.press("d")
        await s.wait_for(lambda: isinstance(s.app.screen, LinkActionForm))
        text = screen_text(s.app)
        assert "rollback checkout-api" in text and "Start a new production action" in text
        await s.pilot.press("enter")
        await s.wait_for(lambda: steps(s)[3].status == StepStatus.DONE)
        assert steps(s)[3].action_id == recorded.id
        assert len(s.app.client.state.actions) == 1  # no second action
        # Another production step: the rollback already did C1.4, so it is not offered again and
        # d goes straight to a new action.
        await ana.post(
            ChecklistStepAdded(checklist=1, do="Restart the workers", changes_production=True)
        )
        await s.wait_for(lambda: len(steps(s)) == 8)
        listed = pane.query_one("#checklist-list", OptionList)
        ids = [listed.get_option_at_index(i).id for i in range(listed.option_count)]
        listed.highlighted = ids.index("1.8")
        await s.pilot.pause()
        await s.pilot.press("d")
        await s.wait_for(lambda: isinstance(s.app.screen, ProductionStepForm))


async def test_with_an_action_recorded_n_in_the_chooser_starts_a_new_one(tmp_path):
    async with room(tmp_path, name="cy", role="responder") as s:
        await holding_the_lock_with_an_action(s, "restart", "workers")
        await s.pilot.press("down", "down", "down", "d")
        await s.wait_for(lambda: isinstance(s.app.screen, LinkActionForm))
        await s.pilot.press("n")
        await s.wait_for(lambda: isinstance(s.app.screen, ProductionStepForm))
        assert steps(s)[3].status == StepStatus.OPEN


async def test_the_ic_freezes_and_lifts_changes_from_the_pane(tmp_path):
    from warroom.console.screens.checklist_forms import FreezeForm

    async with room(tmp_path, name="ana", role="ic") as s:
        pane = await s.show_pane("8", ChecklistPane)
        await s.pilot.press("z")
        await s.wait_for(lambda: isinstance(s.app.screen, FreezeForm))
        await s.pilot.press(*"Checkout-API, payments-api", "enter", *"mid-incident", "enter")
        await s.wait_for(lambda: pane.state.freeze is not None)
        assert pane.state.freeze.targets == ("checkout-api", "payments-api")
        text = screen_text(s.app)
        assert "Change freeze on checkout-api, payments-api: mid-incident" in text
        await s.pilot.press("Z")
        await s.wait_for(lambda: pane.state.freeze is None)
        assert "Change freeze" not in screen_text(s.app)


async def test_a_responder_may_not_freeze(tmp_path):
    async with room(tmp_path, name="cy", role="responder") as s:
        await s.show_pane("8", ChecklistPane)
        await s.pilot.press("z")
        await s.pilot.pause()
        said = [str(n.message) for n in s.app._notifications]
        assert said == ["Only the incident commander freezes changes."]
