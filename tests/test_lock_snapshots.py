"""Snapshots of the lock pane (free; held with a queue) and of the action form.

The hub runs in a thread with a manual clock that the scenario moves between events, so every
time on screen is fixed; the people stay connected, so presence is fixed too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.widgets import Input

from tests.console_helpers import (
    INCIDENT_ID,
    People,
    hub_in_thread,
    make_console,
    screen_text,
    until_live,
)
from tests.helpers import T0, eventually
from warroom.console.app import WarroomApp
from warroom.console.screens.lock_action import ActionForm
from warroom.console.widgets.lock import LockPane
from warroom.core.actions import ActionFinished, ActionStarted
from warroom.core.clock import ManualClock
from warroom.core.lock import LockReleased, LockRequested

SIZE = (100, 30)


def on_lock_pane(hub: Any, then: Any = None) -> Any:
    """``run_before``: synced to the hub's last event, on the lock pane, keys in the pane."""

    async def run_before(pilot: Any) -> None:
        await until_live(pilot)
        head = hub.server.hub.rooms[INCIDENT_ID].head
        await eventually(lambda: pilot.app.client.last_seq >= head, timeout=10)
        await pilot.press("4")
        pane = pilot.app.screen.query_one(LockPane)
        await eventually(lambda: pilot.app.focused is not None
                         and pane in pilot.app.focused.ancestors)  # fmt: skip
        if then is not None:
            await then(pilot)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    return run_before


def busy_lock(people: People) -> None:
    """dee held the lock and passed it on; cy holds it now, one action made things worse and
    the next is under way; bo and dee wait."""
    for name in ("bo", "cy", "dee"):
        people.join(name)
    people.post("dee", LockRequested(), timedelta(0))
    people.post("cy", LockRequested(), timedelta(minutes=1))
    people.post("dee", LockReleased(token=1, note="nothing changed"), timedelta(minutes=2))
    people.post("bo", LockRequested(), timedelta(minutes=2, seconds=30))
    people.post("dee", LockRequested(), timedelta(minutes=2, seconds=40))
    started = people.post(
        "cy",
        ActionStarted(
            token=2,
            kind="rollback",
            target="checkout-api",
            expected="5xx back under 1%",
            metric="checkout 5xx",
            value_before="12%",
        ),
        timedelta(minutes=3),
    )
    people.post(
        "cy",
        ActionFinished(action_id=str(started.id), value_after="18%", outcome="made_worse"),
        timedelta(minutes=5),
    )
    people.post(
        "cy",
        ActionStarted(
            token=2,
            kind="feature_flag_off",
            target="new-pricing",
            expected="p99 back under 800ms",
            metric="checkout p99",
            value_before="2.4s",
        ),
        timedelta(minutes=6),
    )


def test_snapshot_lock_free(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        people = People(hub)
        people.join("bo")
        people.post("bo", LockRequested(), timedelta(0))
        people.post(
            "bo", LockReleased(token=1, note="rolled back checkout-api"), timedelta(minutes=3)
        )
        app = make_console(
            hub.url, name="ana", role="ic", clock=ManualClock(T0 + timedelta(minutes=5))
        )
        try:
            assert snap_compare(app, terminal_size=SIZE, run_before=on_lock_pane(hub))
        finally:
            people.close()


@contextlib.contextmanager
def bo_in_the_queue(tmp_path: Path) -> Iterator[tuple[Any, WarroomApp]]:
    """The hub with :func:`busy_lock` recorded, and bo's console on it at 09:08:30."""
    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        people = People(hub)
        busy_lock(people)
        clock = ManualClock(T0 + timedelta(minutes=8, seconds=30))
        try:
            yield hub, make_console(hub.url, name="bo", role="responder", clock=clock)
        finally:
            people.close()


def test_snapshot_lock_held_with_a_queue(snap_compare, tmp_path):
    with bo_in_the_queue(tmp_path) as (hub, app):
        assert snap_compare(app, terminal_size=SIZE, run_before=on_lock_pane(hub))


def test_snapshot_the_action_form(snap_compare, tmp_path):
    async def open_form(pilot: Any) -> None:
        await pilot.press("a")
        form = pilot.app.screen
        assert isinstance(form, ActionForm)
        form.query_one("#action-target", Input).value = "pricing-service"
        form.query_one("#action-expected", Input).value = "p99 back under 800ms"
        form.query_one("#action-metric", Input).value = "checkout p99"

    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        people = People(hub)
        busy_lock(people)
        people.leave("cy")  # and comes back on a console
        clock = ManualClock(T0 + timedelta(minutes=8, seconds=30))
        app = make_console(hub.url, name="cy", role="responder", clock=clock)
        try:
            assert snap_compare(app, terminal_size=SIZE, run_before=on_lock_pane(hub, open_form))
        finally:
            people.close()


def actions_with_outcomes(people: People) -> None:
    """cy holds the lock: a rollback changed nothing and was undone, a flag made things worse
    and still wants its undo, and a restart is under way."""
    people.join("bo")  # was in the room already: no read-in on the console
    people.join("cy")
    people.post("cy", LockRequested(), timedelta(0))
    first = people.post(
        "cy",
        ActionStarted(
            token=1,
            kind="rollback",
            target="checkout-api",
            expected="5xx back under 1%",
            metric="checkout 5xx rate",
            value_before="12%",
        ),
        timedelta(minutes=1),
    )
    people.post(
        "cy",
        ActionFinished(action_id=str(first.id), value_after="12%", outcome="no_change"),
        timedelta(minutes=2),
    )
    undo = people.post(
        "cy",
        ActionStarted(
            token=1,
            kind="rollback",
            target="checkout-api",
            expected="back to how it was",
            metric="checkout 5xx rate",
            value_before="12%",
            undoes=str(first.id),
        ),
        timedelta(minutes=3),
    )
    people.post(
        "cy",
        ActionFinished(action_id=str(undo.id), value_after="12%", outcome="helped"),
        timedelta(minutes=4),
    )
    worse = people.post(
        "cy",
        ActionStarted(
            token=1,
            kind="feature_flag_off",
            target="new-pricing-engine",
            expected="p99 back under 800ms",
            metric="checkout p99 latency",
            value_before="2.4s",
        ),
        timedelta(minutes=5),
    )
    people.post(
        "cy",
        ActionFinished(action_id=str(worse.id), value_after="3.1s", outcome="made_worse"),
        timedelta(minutes=6),
    )
    people.post(
        "cy",
        ActionStarted(
            token=1,
            kind="restart",
            target="checkout-api-pods-eu-west",
            expected="connections drop",
            metric="db pool use",
            value_before="100%",
        ),
        timedelta(minutes=7),
    )


#: What the actions table must show whole, whatever the width (issue 16, item 4).
OUTCOMES = ["no change · undone", "helped", "made it worse · undo pending", "open"]


def test_action_outcomes_are_on_screen_at_80x24_and_140x45(tmp_path):
    for size in ((80, 24), (140, 45)):
        with hub_in_thread(tmp_path / f"{size[0]}") as hub:
            hub.seed()
            people = People(hub)
            actions_with_outcomes(people)
            clock = ManualClock(T0 + timedelta(minutes=8))
            app = make_console(hub.url, name="bo", role="responder", clock=clock)

            async def look(app: Any = app, size: tuple[int, int] = size) -> list[str]:
                async with app.run_test(size=size) as pilot:
                    await on_lock_pane(hub)(pilot)
                    return screen_text(app).splitlines()

            try:
                lines = asyncio.run(look())
            finally:
                people.close()
            rows = [
                line for line in lines if line.strip()[:5] in {"09:01", "09:03", "09:05", "09:07"}
            ]
            assert len(rows) == 4, lines
            for row, outcome in zip(rows, OUTCOMES, strict=True):
                assert outcome in row, (size, row)


def test_snapshot_action_outcomes_80x24(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        people = People(hub)
        actions_with_outcomes(people)
        clock = ManualClock(T0 + timedelta(minutes=8))
        app = make_console(hub.url, name="bo", role="responder", clock=clock)
        try:
            assert snap_compare(app, terminal_size=(80, 24), run_before=on_lock_pane(hub))
        finally:
            people.close()


def test_snapshot_action_outcomes_140x45(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        people = People(hub)
        actions_with_outcomes(people)
        clock = ManualClock(T0 + timedelta(minutes=8))
        app = make_console(hub.url, name="bo", role="responder", clock=clock)
        try:
            assert snap_compare(app, terminal_size=(140, 45), run_before=on_lock_pane(hub))
        finally:
            people.close()


def test_at_80_columns_a_long_lock_line_never_hides_the_update_countdown(tmp_path):
    """The bar's second line is shared by the phase, the age, the IC, the lock and the update
    countdown. With the lock held and two people waiting it is longer than 80 columns; the
    lock line gives way (cut with an ellipsis), never the countdown that warns everyone."""

    async def run(hub: Any, app: WarroomApp) -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await on_lock_pane(hub)(pilot)
            second = screen_text(pilot.app).splitlines()[1].rstrip()
            assert second.endswith("update in 01:30"), second
            assert "lock cy" in second and "…" in second, second

    with bo_in_the_queue(tmp_path) as (hub, app):
        asyncio.run(run(hub, app))
