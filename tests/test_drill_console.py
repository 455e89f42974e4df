"""Playing a short drill as IC in the real console, with simulated responders on a real hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

from warroom.hub.app import HubConfig, HubServer

from tests.console_helpers import make_console, screen_text
from tests.helpers import ONE_AT_A_TIME, T0, eventually
from warroom.core.actions import ActionStarted
from warroom.core.protocol import Error
from warroom.core.roles import Role
from warroom.drill.clock import ScaledClock
from warroom.drill.runner import DrillRunner
from warroom.drill.scenario import parse

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


def coach_said(app, words: str) -> bool:  # noqa: ANN001
    client = app.client
    return client is not None and any(
        e.type == "note_added" and e.actor == "drill-coach" and words in e.text for e in client.log
    )


@ONE_AT_A_TIME
async def test_the_ic_plays_a_short_drill_from_the_keyboard(tmp_path: Path):
    scenario = parse(SHORT, "short.toml")
    clock = ScaledClock(T0, speed=30)
    server = HubServer(HubConfig(host="127.0.0.1", port=0, db=tmp_path / "drill.db",
                                 timer_interval=0.05), clock=clock)  # fmt: skip
    await server.start()

    async def advance(seconds: float) -> None:
        await asyncio.sleep(seconds / clock.speed)

    runner = DrillRunner(scenario, server.url, clock, advance, user_role=Role.IC, user_name="ana")
    incident = await runner.declare()
    await runner.join_cast()
    play = asyncio.create_task(runner.run())
    app = make_console(server.url, name="ana", role="ic", incident=incident, clock=clock)
    try:
        async with app.run_test(size=(120, 40)) as pilot:

            async def until(predicate, timeout: float = 15) -> None:  # noqa: ANN001
                await eventually(predicate, timeout=timeout)
                await pilot.pause()

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
            await until(
                lambda: any(i.status == "confirmed" for i in app.client.state.board.values())
            )

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
    finally:
        play.cancel()
        await runner.close()
        await server.stop()
