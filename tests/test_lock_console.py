"""The lock pane and its forms, driven by keys in a real console against a real hub."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from textual.widgets import Input, Select, Static

from tests.helpers import T0, client, declare_incident, declared, eventually, running_hub
from warroom.client.sync import IncidentClient
from warroom.console.app import WarroomApp
from warroom.console.screens.lock_action import ActionForm, FinishForm
from warroom.console.screens.lock_ic import ForceReleaseForm, HandOverForm
from warroom.console.screens.lock_undo import UndoPrompt
from warroom.console.widgets.lock import LockPane
from warroom.console.widgets.timeline_view import TimelineView
from warroom.core.clock import ManualClock
from warroom.core.lock import LockForceReleased, LockReleased, LockRequested
from warroom.core.production import ActionOutcome


@contextlib.asynccontextmanager
async def lock_console(
    hub, name: str, role: str, incident: str, clock: ManualClock
) -> AsyncIterator[tuple[WarroomApp, object, LockPane]]:
    """``name``'s console, synced, on the lock pane."""
    app = WarroomApp(hub.url, name, role, incident=incident, clock=clock, blink=False)
    async with app.run_test(size=(110, 34)) as pilot:
        await eventually(lambda: app.client is not None and app.client.status == "live")
        await eventually(lambda: name in app.client.state.participants)
        await pilot.press("4")
        pane = app.screen.query_one(LockPane)
        await eventually(lambda: app.focused is not None and pane in app.focused.ancestors)
        yield app, pilot, pane


async def holding_the_lock(hub, incident: str, name: str) -> IncidentClient:
    """``name`` joins as a responder and asks for the lock, which is free: they hold it."""
    holder = await client(hub.url, name, "responder", incident)
    await holder.post(LockRequested())
    return holder


def stored(hub, incident: str, type_: str) -> list:
    return [e for e in hub.store.events(incident) if e.type == type_]


def fill(form, **values: str) -> None:
    for field, value in values.items():
        form.query_one(f"#{field}", Input).value = value


async def test_request_act_finish_and_undo_from_the_keyboard(tmp_path):
    async with declared(tmp_path) as (hub, incident, clock):
        cy = await holding_the_lock(hub, incident, "cy")
        async with lock_console(hub, "bo", "responder", incident, clock) as (app, pilot, pane):
            await eventually(lambda: pane.state.lock.holder == "cy")
            assert pane.check_action("start_action", ()) is None  # greyed: not the holder
            await pilot.press("a")
            assert not isinstance(app.screen, ActionForm)

            await pilot.press("l")
            await eventually(lambda: pane.state.lock.queue == ("bo",))
            assert "number 1 in the queue" in str(pane.query_one("#lock-hint", Static).render())
            await cy.post(LockReleased(token=1))
            await eventually(lambda: pane.state.lock.holder == "bo")
            assert pane.check_action("start_action", ()) is True

            await pilot.press("a")
            form = app.screen
            assert isinstance(form, ActionForm) and form.token == 2
            fill(
                form,
                **{
                    "action-target": "checkout-api",
                    "action-expected": "5xx under 1%",
                    "action-metric": "5xx rate",
                    "action-before": "12%",
                },
            )
            await pilot.press("ctrl+s")
            await eventually(lambda: not isinstance(app.screen, ActionForm))
            [started] = stored(hub, incident, "action_started")
            assert (started.actor, started.token, started.target) == ("bo", 2, "checkout-api")

            await eventually(lambda: len(pane.state.actions) == 1)
            await pilot.press("f")
            finish = app.screen
            assert isinstance(finish, FinishForm) and finish.action.id == started.id
            fill(finish, **{"action-after": "12%"})
            finish.query_one("#action-outcome", Select).value = ActionOutcome.NO_CHANGE
            await pilot.press("ctrl+s")
            await eventually(lambda: isinstance(app.screen, UndoPrompt))
            [finished] = stored(hub, incident, "action_finished")
            assert finished.outcome == "no_change" and finished.value_after == "12%"

            await pilot.press("y")
            undo = app.screen
            assert isinstance(undo, ActionForm) and undo.undo is not None
            assert undo.query_one("#action-target", Input).value == "checkout-api"
            assert undo.query_one("#action-before", Input).value == "12%"
            await pilot.press("ctrl+s")
            await eventually(lambda: len(stored(hub, incident, "action_started")) == 2)
            assert stored(hub, incident, "action_started")[1].undoes == started.id
            await eventually(lambda: not isinstance(app.screen, ActionForm))

            await pilot.press("x")
            await eventually(lambda: pane.state.lock.free)

            # Every lock event and action is on the timeline, as its own kind.
            view = app.screen.query_one(TimelineView)
            await eventually(lambda: len(view.entries) == app.client.last_seq)
            lines = [(e.kind, e.text) for e in view.entries if e.kind in ("lock", "action")]
            assert lines == [
                ("lock", "cy asked for the production lock"),
                ("lock", "bo asked for the production lock"),
                ("lock", "cy released the production lock (token 1)"),
                (
                    "action",
                    "rollback checkout-api (token 2); expect: 5xx under 1%; 5xx rate before: 12%",
                ),
                ("action", "Action result: no change; value after: 12%"),
                (
                    "action",
                    "Undo: rollback checkout-api (token 2); expect: back to how it was "
                    "before this rollback; 5xx rate before: 12%",
                ),
                ("lock", "bo released the production lock (token 2)"),
            ]
        await cy.close()


async def test_a_refused_action_is_shown_in_the_form_and_nothing_is_written(tmp_path):
    async with declared(tmp_path) as (hub, incident, clock):
        ana = await client(hub.url, "ana", "ic", incident)
        async with lock_console(hub, "bo", "responder", incident, clock) as (app, pilot, pane):
            await pilot.press("l")
            await eventually(lambda: pane.state.lock.holder == "bo")
            await pilot.press("a")
            form = app.screen
            assert isinstance(form, ActionForm)
            fill(
                form,
                **{
                    "action-target": "db-primary",
                    "action-expected": "fail over",
                    "action-metric": "write errors",
                    "action-before": "30/s",
                },
            )
            # While bo types, the IC takes the lock away.
            await ana.post(LockForceReleased(token=1, reason="bo went quiet"))
            await eventually(lambda: pane.state.lock.free)
            await pilot.press("ctrl+s")
            error = form.query_one("#form-error", Static)
            await eventually(lambda: "refused" in str(error.render()))
            assert "request the lock again" in str(error.render())
            assert app.screen is form, "a refused form must stay open"
            assert stored(hub, incident, "action_started") == []
            await pilot.press("escape")
        await ana.close()


async def test_the_ic_alone_sees_force_release_and_hand_over(tmp_path):
    async with declared(tmp_path) as (hub, incident, clock):
        bo = await holding_the_lock(hub, incident, "bo")
        async with lock_console(hub, "ana", "ic", incident, clock) as (app, pilot, pane):
            await eventually(lambda: pane.state.lock.holder == "bo")
            assert pane.check_action("force_release", ()) is True
            assert pane.check_action("hand_over", ()) is True
            shown = {b.binding.action for b in app.screen.active_bindings.values()}
            assert {"force_release", "hand_over"} <= shown

            await pilot.press("F")
            form = app.screen
            assert isinstance(form, ForceReleaseForm)
            await pilot.press("ctrl+s")  # no reason yet
            assert "why" in str(form.query_one("#form-error", Static).render())
            fill(form, **{"lock-reason": "bo's laptop died"})
            await pilot.press("ctrl+s")
            await eventually(lambda: pane.state.lock.free)
            assert stored(hub, incident, "lock_force_released")[0].reason == "bo's laptop died"

            await pilot.press("h")
            hand = app.screen
            assert isinstance(hand, HandOverForm) and "bo" in hand.names
            hand.query_one("#lock-to", Select).value = "bo"
            await pilot.press("ctrl+s")
            await eventually(lambda: pane.state.lock.holder == "bo")
            assert pane.state.lock.token == 2
        async with lock_console(hub, "cy", "responder", incident, clock) as (app, pilot, pane):
            assert pane.check_action("force_release", ()) is False
            assert pane.check_action("hand_over", ()) is False
            await pilot.press("F", "h")
            assert not isinstance(app.screen, ForceReleaseForm | HandOverForm)
        await bo.close()


async def test_the_console_offers_renewal_before_the_lease_ends(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident = await declare_incident(hub.url)
        async with lock_console(hub, "bo", "responder", incident, clock) as (app, pilot, pane):
            await pilot.press("l")
            await eventually(lambda: pane.state.lock.holder == "bo")
            hint = pane.query_one("#lock-hint", Static)
            assert "renew" not in str(hint.render())
            clock.advance(timedelta(minutes=8, seconds=30))
            await eventually(lambda: "renew" in str(hint.render()), timeout=3)
            assert hint.has_class("renew-due")
            # The hint and the notification are drawn on different paths: wait for both.
            await eventually(
                lambda: any(n.title == "Renew the lock?" for n in app._notifications), timeout=3
            )
            await pilot.press("r")
            await eventually(
                lambda: pane.state.lock.expires_at == clock.now + timedelta(minutes=10)
            )
            await eventually(lambda: not hint.has_class("renew-due"))
