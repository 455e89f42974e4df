"""The join screen and the declaration form, against a real hub."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Input, Label
from warroom.hub.app import HubConfig, HubServer

from tests.console_helpers import (
    INCIDENT,
    INCIDENT_ID,
    console_session,
    is_live,
    make_console,
    screen_text,
    seed_incident,
)
from tests.helpers import T0, ManualClock, eventually, free_port, running_hub
from warroom.client.lobby import declare
from warroom.console.screens.console import ConsoleScreen
from warroom.console.screens.declare import DeclareScreen, DetectedTimeError, parse_detected
from warroom.console.screens.join import JoinScreen
from warroom.core.severity import Severity


async def listed(s) -> DataTable:
    await s.wait_for(lambda: isinstance(s.app.screen, JoinScreen)
                     and s.app.screen.query_one(DataTable).row_count > 0)  # fmt: skip
    return s.app.screen.query_one(DataTable)


async def test_the_list_shows_each_incident_and_enter_joins_it(tmp_path):
    async with console_session(tmp_path, name="rita", role="responder", join=False) as s:
        other = await seed_incident(s.hub.url, incident_id="inc-search", title="Search is slow",
                                    severity="SEV3")  # fmt: skip
        await s.pilot.press("r")
        table = await listed(s)
        await s.wait_for(lambda: table.row_count == 2)
        text = screen_text(s.app)
        assert "Checkout errors after deploy" in text and "Search is slow" in text
        row = table.get_row(INCIDENT_ID)
        assert [str(c) for c in row] == [
            "SEV2", INCIDENT_ID, "Checkout errors after deploy", "detected", "8m", "0 of 0", "ana"
        ]  # fmt: skip
        await s.pilot.press("down" if table.get_row_index(other) == 1 else "up", "enter")
        await s.wait_for(lambda: is_live(s.app))
        assert isinstance(s.app.screen, ConsoleScreen)
        assert s.app.client.incident_id == other
        assert s.app.client.state.title == "Search is slow"
        await s.pilot.press("ctrl+l")
        await listed(s)
        assert s.app.client is None
        room = s.hub.hub.rooms[other]
        await s.wait_for(lambda: not room.state.participants["rita"].online)


async def test_an_unreachable_hub_is_reported_and_retried(tmp_path):
    port = free_port()
    app = make_console(f"ws://127.0.0.1:{port}", name="rita", role="responder", incident=None,
                       hub_label="the test hub")  # fmt: skip
    async with app.run_test(size=(100, 30)) as pilot:
        message = app.screen.query_one("#join-message", Label)
        await eventually(lambda: "Cannot reach" in str(message.render()))
        assert "Cannot reach the hub at the test hub" in str(message.render())
        hub = HubServer(HubConfig(host="127.0.0.1", port=port, db=tmp_path / "hub.db",
                                  timer_interval=0), ManualClock(T0))  # fmt: skip
        await hub.start()
        try:
            await seed_incident(hub.url)
            await pilot.press("r")
            await eventually(lambda: app.screen.query_one(DataTable).row_count == 1)
            assert "Enter joins" in str(message.render())
        finally:
            await hub.stop()


async def test_declaring_an_incident_from_the_template(tmp_path):
    clock = ManualClock(T0)  # the console's clock agrees with the hub's
    async with console_session(tmp_path, name="ana", role="ic", seed=False, join=False,
                               clock=clock) as s:  # fmt: skip
        await s.pilot.press("n")
        assert isinstance(s.app.screen, DeclareScreen)
        detected = s.app.screen.query_one("#detected", Input)
        assert detected.value == "2026-03-14 09:00", "detected defaults to now"
        await s.pilot.press(*"Payments failing in EU", "tab")  # to the severity choice
        await s.pilot.press("up", "enter")  # SEV1, and on to the detected time
        await s.pilot.press("ctrl+u", *"15m ago", "tab")
        await s.pilot.press(*"PagerDuty: checkout 5xx", "tab")
        await s.pilot.press(*"502 at the pay step", "tab", *"EU only")
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        assert isinstance(s.app.screen, ConsoleScreen)
        state = s.app.client.state
        assert state.title == "Payments failing in EU"
        assert state.severity == Severity.SEV1
        assert state.detected_at == T0 - timedelta(minutes=15)
        assert state.declared_at == T0, "the hub stamps the declaration time"
        assert (state.trigger, state.symptoms, state.scope) == (
            "PagerDuty: checkout 5xx", "502 at the pay step", "EU only"
        )  # fmt: skip
        assert state.ic == "ana"


async def test_the_hub_refusal_shows_on_the_form(tmp_path):
    # The console's clock is ahead of the hub's: "now" on the form is the future for the hub.
    async with console_session(tmp_path, name="ana", role="ic", seed=False, join=False) as s:
        await s.pilot.press("n", *"Clock skew", "ctrl+s")
        message = s.app.screen.query_one("#declare-message", Label)
        await s.wait_for(lambda: "refused" in str(message.render()))
        assert str(message.render()) == (
            "The hub refused: The problem cannot be detected in the future."
        )
        assert isinstance(s.app.screen, DeclareScreen), "the form stays, with what was typed"
        assert s.app.screen.query_one("#title", Input).value == "Clock skew"


async def test_the_form_checks_what_it_can_before_sending(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic", seed=False, join=False) as s:
        await s.pilot.press("n", "ctrl+s")
        message = s.app.screen.query_one("#declare-message", Label)
        assert str(message.render()) == "An incident needs a title."
        await s.pilot.press(*"Something", "tab", "tab", "ctrl+u", *"yesterday-ish", "ctrl+s")
        assert "Use a time in UTC" in str(message.render())
        assert s.app.screen.query_one("#detected", Input).has_focus
        await s.pilot.press("escape")
        assert isinstance(s.app.screen, JoinScreen)


async def test_observers_are_not_offered_declaring(tmp_path):
    async with console_session(tmp_path, name="olga", role="observer", join=False) as s:
        await listed(s)
        keys = {k for k, b in s.app.screen.active_bindings.items() if b.enabled}
        assert "n" not in keys
        await s.pilot.press("n")
        assert isinstance(s.app.screen, JoinScreen)


def test_detected_time_formats():
    now = T0 + timedelta(minutes=3)
    assert parse_detected("", now) == now
    assert parse_detected("15m ago", now) == now - timedelta(minutes=15)
    assert parse_detected("-2h", now) == now - timedelta(hours=2)
    assert parse_detected("08:45", now) == T0.replace(hour=8, minute=45)
    assert parse_detected("2026-03-13 23:10", now) == T0.replace(day=13, hour=23, minute=10)
    assert parse_detected("2026-03-13T23:10Z", now) == T0.replace(day=13, hour=23, minute=10)
    for bad in ("soon", "25:00", "15 parsecs ago"):
        try:
            parse_detected(bad, now)
        except DetectedTimeError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


async def test_an_unknown_incident_goes_back_to_the_list_and_says_why(tmp_path):
    async with console_session(tmp_path, name="rita", role="responder", join=False) as s:
        await listed(s)
        s.app.join_incident("inc-nope")
        await s.wait_for(lambda: isinstance(s.app.screen, JoinScreen) and s.app.client is None)
        assert any("No incident 'inc-nope'" in n.message for n in s.app._notifications)


async def test_a_refused_token_goes_back_to_the_list_and_says_why(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens={"team": "s3cret"}) as hub:
        await seed_incident_with_token(hub.url, "s3cret")
        app = make_console(hub.url, name="rita", role="responder", token="wrong")
        async with app.run_test(size=(100, 30)) as pilot:
            await eventually(lambda: isinstance(app.screen, JoinScreen))
            await pilot.pause()
            assert any("check --token" in n.message for n in app._notifications)
            message = app.screen.query_one("#join-message", Label)
            await eventually(lambda: "refused" in str(message.render()))


async def seed_incident_with_token(url: str, token: str) -> str:
    return await declare(url, "ana", token, incident_id=INCIDENT_ID, **INCIDENT)


async def test_a_console_whose_token_is_revoked_is_told_so_and_not_let_back_in(tmp_path):
    """Cut off by a revoke, the console reconnects, is refused, and says the token may have
    been revoked (it said only "check --token")."""
    from tests.test_security_identity import people, token_of

    db = tmp_path / "hub.db"
    token = token_of(people(db, "add", "rita").stdout)
    async with running_hub(db, people_interval=0.2) as hub:
        await declare(hub.url, "rita", title="Checkout errors", severity="SEV2", token=token)
        app = make_console(hub.url, name="rita", role="ic", token=token, incident=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await eventually(lambda: bool(app.screen.incidents))  # type: ignore[attr-defined]
            await pilot.press("enter")
            await eventually(lambda: is_live(app), timeout=10)
            assert people(db, "revoke", "rita").returncode == 0
            await eventually(lambda: isinstance(app.screen, JoinScreen), timeout=10)
            await eventually(
                lambda: any(
                    "token is wrong, or it was revoked" in n.message for n in app._notifications
                ),
                timeout=10,
            )
            assert not is_live(app)
