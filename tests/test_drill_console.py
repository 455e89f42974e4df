"""Playing a short drill as IC in the real console, with simulated responders on a real hub."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.console_helpers import make_console, screen_text
from tests.helpers import ONE_AT_A_TIME, T0, eventually
from warroom.core.actions import ActionStarted
from warroom.core.protocol import Error
from warroom.core.roles import Role
from warroom.drill.clock import ScaledClock
from warroom.drill.runner import DrillRunner
from warroom.drill.scenario import Scenario, parse
from warroom.drill.session import drill_hub, pipeline_credentials

SHORT = """
[scenario]
name = "short-pool"
title = "DRILL: short pool exhaustion"
severity = "SEV2"
symptoms = "5xx on checkout"
scope = "EU checkout"
ends_at = "90:00"

[[responders]]
name = "morgan"
role = "ic"

[[responders]]
name = "priya"
role = "lead"

[[responders]]
name = "sam"
role = "responder"

[[steps]]
at = "0:05"
by = "priya"
do = "guess"
key = "pool"
text = "The checkout database pool is exhausted"

[[steps]]
at = "0:10"
by = "sam"
do = "lock"

[[steps]]
at = "0:15"
by = "morgan"
do = "confirm"
item = "pool"
hint = "Confirm the pool guess on the board."

[[steps]]
at = "0:20"
by = "morgan"
do = "decide"
what = "Roll back"
why = "pool"
hint = "Record a decision."

[[steps]]
at = "0:25"
by = "morgan"
do = "update"
affected = "checkout"
hint = "Publish an external update."

[[steps]]
at = "0:30"
by = "sam"
do = "release"
"""


@contextlib.asynccontextmanager
async def ic_console(
    tmp_path: Path, scenario: Scenario, speed: float
) -> AsyncIterator[tuple[Any, Any, DrillRunner, asyncio.Task[None], Any]]:
    """A drill on its own hub with ana at the IC's console: (app, pilot, runner, the script's
    task, ``until(predicate)``). The script is cancelled and everything stopped afterwards."""
    clock = ScaledClock(T0, speed=speed)
    server = drill_hub(tmp_path / "drill.db", 0, 0.05, clock)
    await server.start()

    async def advance(seconds: float) -> None:
        await asyncio.sleep(seconds / clock.speed)

    runner = DrillRunner(scenario, server.url, clock, advance, user_role=Role.IC,
                         user_name="ana", gate_credential=pipeline_credentials(server))  # fmt: skip
    incident = await runner.declare()
    await runner.join_cast()
    play = asyncio.create_task(runner.run())
    app = make_console(server.url, name="ana", role="ic", incident=incident, clock=clock)
    try:
        async with app.run_test(size=(120, 40)) as pilot:

            async def until(predicate, timeout: float = 15) -> None:  # noqa: ANN001
                await eventually(predicate, timeout=timeout)
                await pilot.pause()

            yield app, pilot, runner, play, until
    finally:
        play.cancel()
        await runner.close()
        await server.stop()


def coach_said(app, words: str) -> bool:  # noqa: ANN001
    client = app.client
    return client is not None and any(
        e.type == "note_added" and e.actor == "drill-coach" and words in e.text for e in client.log
    )


@ONE_AT_A_TIME
async def test_the_ic_plays_a_short_drill_from_the_keyboard(tmp_path: Path):
    async with ic_console(tmp_path, parse(SHORT, "short.toml"), speed=20) as (
        app, pilot, runner, play, until
    ):  # fmt: skip
        # 1. the coach asks; the IC confirms the guess on the board
        await until(lambda: coach_said(app, "Confirm the pool guess"))
        # the whole hint, keys included, above every pane (not cut off on the timeline)
        line = app.screen.query_one("#coach-line")
        await until(lambda: line.display)
        shown = " ".join(screen_text(app).split())
        assert (
            "Confirm the pool guess on the board. Keys: press 2, then f (it opens on the "
            "highlighted open guess), then Enter." in shown
        ), shown
        await pilot.press("2", "right", "f")
        await pilot.pause(0.2)
        await pilot.press(*"pg_stat_activity 200/200", "enter")
        await until(lambda: any(i.status == "confirmed" for i in app.client.state.board.values()))

        # 2. a decision resting on that fact
        await until(lambda: coach_said(app, "Record a decision"))
        await pilot.press("3", "d")
        await pilot.pause(0.2)
        await pilot.press(*"Roll back checkout", "enter", *"the pool leaks since 4812", "enter")
        await pilot.press("enter", "space")  # no options typed; pick the confirmed fact
        await pilot.press("ctrl+s")
        await until(lambda: bool(app.client.state.decisions))
        (decision,) = app.client.state.decisions.values()
        assert decision.what == "Roll back checkout" and len(decision.facts) == 1

        # 3. the lock: sam (a bot) holds it, so the IC can only queue, and a change
        #    attempted anyway is refused by the hub
        await until(lambda: app.client.state.lock.holder == "sam")
        await pilot.press("4", "l")
        await until(lambda: "ana" in app.client.state.lock.queue)
        assert "ana" in screen_text(app)
        refused = await app.send_command(
            ActionStarted, token=app.client.state.lock.token, kind="restart",
            target="checkout", expected="errors stop", metric="5xx", value_before="12%",
        )  # fmt: skip
        assert isinstance(refused, Error) and refused.code == "not_holder"
        assert not app.client.state.actions

        # 4. the stakeholder update, previewed then published
        await until(lambda: coach_said(app, "Publish an external update"))
        await pilot.press("5", "e")
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")
        await until(lambda: bool(app.client.state.comms.updates))

        # the script carries on: sam releases, and the lock passes to the IC who queued
        await asyncio.wait_for(play, 20)
        await until(lambda: app.client.state.lock.holder == "ana")
        assert runner.refused == []


GATED = (
    """
[scenario]
name = "short-gate"
title = "DRILL: checkout-api errors after a release"
severity = "SEV2"
symptoms = "5xx on checkout-api after a deploy"
scope = "checkout"
ends_at = "90:00"
"""
    + SHORT[SHORT.index("[[responders]]") : SHORT.index("[[steps]]")]
    + """
[[steps]]
at = "0:05"
by = "morgan"
do = "attach"
runbook = "roll-back-deploy"
hint = "Attach the rollback runbook."

[[steps]]
at = "0:10"
by = "priya"
do = "lock"

[[steps]]
at = "0:15"
by = "morgan"
do = "freeze"
targets = ["checkout-api"]
reason = "rolling back"
hint = "Freeze checkout-api before the scheduled deploy."

[[steps]]
at = "3:00"
by = "deploy-prod"
do = "pipeline"
target = "checkout-api"

[[steps]]
at = "3:05"
by = "priya"
do = "release"
"""
)


@ONE_AT_A_TIME
async def test_the_ic_attaches_a_runbook_and_freezes_and_sees_the_pipeline_blocked(
    tmp_path: Path,
):
    """The IC works the runbook-and-gate part of a drill from the keyboard: the coach asks for
    the runbook (attached from the hub's list in the Steps pane) and the freeze, and then says,
    above every pane, that the scheduled deploy was blocked while priya held the lock."""
    async with ic_console(tmp_path, parse(GATED, "gated.toml"), speed=10) as (
        app, pilot, runner, play, until
    ):  # fmt: skip
        await until(lambda: coach_said(app, "Attach the rollback runbook"))
        await pilot.press("8", "a")
        await until(lambda: "Attach a runbook" in screen_text(app))
        assert "Roll back a bad deploy" in screen_text(app)
        await pilot.press("enter")
        await until(lambda: bool(app.client.state.checklists))
        (checklist,) = app.client.state.checklists.values()
        assert checklist.runbook == "roll-back-deploy" and checklist.attached_by == "ana"

        await until(lambda: coach_said(app, "Freeze checkout-api"))
        await until(lambda: app.client.state.lock.holder == "priya")
        await pilot.press("z")
        await pilot.pause(0.2)
        await pilot.press(*"checkout-api", "enter", *"rolling back", "enter")
        await until(lambda: app.client.state.freeze is not None)
        assert app.client.state.freeze.targets == ("checkout-api",)

        await until(lambda: coach_said(app, "DRILL: pipeline"), timeout=30)
        assert coach_said(app, "DRILL: pipeline blocked"), [e.describe() for e in app.client.log]
        line = app.screen.query_one("#coach-line")
        shown = " ".join(screen_text(app).split())
        assert line.display and (
            "pipeline blocked: lock held by priya; deploy-prod may not change checkout-api "
            "with no token." in shown
        ), shown
        await asyncio.wait_for(play, 20)
        [(_, answer)] = runner.gate_answers
        assert not answer.allowed and answer.holder == "priya"
        assert runner.refused == []
