"""Local time (issue 23, item 4): each console shows times in its person's zone, UTC one key away;
forms read times in that zone and say which; the incident keeps a reference zone chosen at
declaration; the wire and the record stay UTC.

The hub's clock stands at T0 = 2026-03-14 09:00 UTC: 10:00 in Berlin (CET), 05:00 in New York
(EDT since 8 March).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import Input

from tests.console_helpers import (
    INCIDENT_ID,
    NOW,
    console_session,
    is_live,
    screen_text,
    seed_incident,
)
from tests.helpers import T0
from warroom.config import ConfigError, load_config
from warroom.console.screens.console import ConsoleScreen
from warroom.console.screens.declare import DeclareScreen, parse_detected
from warroom.console.screens.timeline_correct import RetimeForm
from warroom.console.widgets.timeline import TimelinePane
from warroom.core.events import Actor
from warroom.core.fold import apply
from warroom.core.incident import IncidentDeclared, NoteAdded
from warroom.core.local_time import Times, ZoneError, reference_zone, zone_named
from warroom.core.roles import Role
from warroom.core.state import IncidentState
from warroom.export.postmortem import draft

BERLIN = Times(zone_named("Europe/Berlin"))
NEW_YORK = Times(zone_named("America/New_York"))


# --- the core: showing and reading ---------------------------------------------------------------
def test_a_moment_is_shown_on_the_persons_clock_and_in_utc_after_the_toggle() -> None:
    assert BERLIN.hms(T0) == "10:00:00" and BERLIN.abbrev(T0) == "CET"
    assert NEW_YORK.hm(T0) == "05:00" and NEW_YORK.abbrev(T0) == "EDT"
    assert BERLIN.toggled().hms(T0) == "09:00:00" and BERLIN.toggled().label == "UTC"
    assert BERLIN.both(T0) == "10:00:00 CET (09:00:00 UTC)"
    assert BERLIN.toggled().both(T0) == "09:00:00 UTC (10:00:00 CET)"
    assert Times().both(T0) == "09:00:00 UTC", "one clock for someone in UTC"
    assert BERLIN.everywhere(T0) == "2026-03-14 10:00:00 CET = 09:00:00 UTC"
    assert BERLIN.toggled().everywhere(T0) == BERLIN.everywhere(T0), "hover shows both either way"
    summer = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert BERLIN.hm(summer) == "11:00" and BERLIN.abbrev(summer) == "CEST"


def test_a_time_typed_in_a_form_is_read_in_the_zone_shown() -> None:
    # 08:45 in Berlin is 07:45 UTC; a time of day is the latest one up to an hour after now, so
    # 23:50 typed at 05:00 in New York is last night's.
    assert BERLIN.read("08:45", T0) == datetime(2026, 3, 14, 7, 45, tzinfo=UTC)
    assert NEW_YORK.read("04:30", T0) == datetime(2026, 3, 14, 8, 30, tzinfo=UTC)
    assert NEW_YORK.read("23:50", T0) == datetime(2026, 3, 14, 3, 50, tzinfo=UTC)
    assert BERLIN.read("2026-03-13 23:10", T0) == datetime(2026, 3, 13, 22, 10, tzinfo=UTC)
    # a time that names its zone is taken as it says
    assert BERLIN.read("2026-03-13 23:10 UTC", T0) == datetime(2026, 3, 13, 23, 10, tzinfo=UTC)
    assert BERLIN.read("2026-03-13T23:10Z", T0) == datetime(2026, 3, 13, 23, 10, tzinfo=UTC)
    assert BERLIN.toggled().read("08:45", T0) == datetime(2026, 3, 14, 8, 45, tzinfo=UTC)
    for bad in ("25:00", "08:61", "soon", ""):
        assert BERLIN.read(bad, T0) is None, bad
    assert parse_detected("15m ago", T0, BERLIN) == T0 - timedelta(minutes=15)
    assert parse_detected("09:30", T0, BERLIN) == datetime(2026, 3, 14, 8, 30, tzinfo=UTC)


def test_zone_names_are_checked() -> None:
    assert reference_zone("utc") == "UTC"
    assert reference_zone("Europe/Berlin") == "Europe/Berlin"
    assert reference_zone("") == ""
    for bad in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "x" * 100):
        with pytest.raises(ZoneError):
            zone_named(bad)
        assert reference_zone(bad) == ""


# --- the incident's reference zone --------------------------------------------------------------
def _declared(**fields: object) -> tuple[IncidentDeclared, IncidentState]:
    command = IncidentDeclared(title="Checkout errors", severity="SEV2", **fields)  # type: ignore[arg-type]
    stamped = command.model_copy(
        update={"seq": 1, "at": T0, "actor": "ana", "incident_id": "inc-1"}
    )
    return command, apply(IncidentState(), stamped)


def test_the_incident_keeps_the_reference_zone_chosen_at_declaration() -> None:
    ana = Actor(name="ana", seat=Role.IC)
    command, state = _declared(timezone="Europe/Berlin")
    assert command.check(IncidentState(), ana, T0) is None
    assert state.timezone == "Europe/Berlin"
    assert _declared()[1].timezone == "", "left out: none (times are UTC)"
    bad, state = _declared(timezone="Mars/Olympus")
    refusal = bad.check(IncidentState(), ana, T0)
    assert refusal is not None and refusal.code == "invalid" and "Mars/Olympus" in refusal.message
    assert state.timezone == "", "a zone that is none is never kept"
    # on the wire the zone is a name, and every time is still UTC
    wire = command.model_copy(update={"detected_at": T0}).model_dump(mode="json")
    assert wire["timezone"] == "Europe/Berlin" and wire["detected_at"].endswith("Z")


def test_the_config_file_names_the_consoles_zone(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('timezone = "Asia/Tokyo"\n')
    assert load_config(path).timezone == "Asia/Tokyo"
    path.write_text('timezone = "Asia/Tokio"\n')
    with pytest.raises(ConfigError, match="timezone.*Asia/Tokio"):
        load_config(path)


# --- the console ---------------------------------------------------------------------------------
def scribe_in(tmp_path, zone: str):
    """sam, the scribe, on a console whose clock is ``zone``."""
    return console_session(tmp_path, name="sam", role="scribe", size=(120, 30), timezone=zone)


async def test_the_timeline_shows_the_persons_zone_and_u_switches_to_utc(tmp_path) -> None:
    async with scribe_in(tmp_path, "America/New_York") as s:
        client = s.app.client
        assert client is not None
        await s.pilot.press("1")
        pane = s.app.screen.query_one(TimelinePane)
        declared = next(e for e in pane.view.entries if e.kind == "declared")
        assert declared.at == T0
        assert "05:00:00 declared" in screen_text(s.app)
        assert "09:00:00 declared" not in screen_text(s.app)
        # a note typed 47 s before the hub had it: both times on the person's clock
        bo = await s.peer("bo", "responder")
        await bo.post(NoteAdded(text="rollback started", noted_at=T0 - timedelta(seconds=47)))
        await s.wait_for(lambda: "◷ typed 04:59:13, received 05:00:00" in screen_text(s.app))

        await s.pilot.press("U")
        await s.wait_for(lambda: "09:00:00 declared" in screen_text(s.app))
        assert "◷ typed 08:59:13, received 09:00:00" in screen_text(s.app)
        assert s.app.times.utc and s.app.times.label == "UTC"
        # hovering the timeline shows the highlighted row in both clocks
        assert pane.view.tooltip == "Stored 2026-03-14 05:00:00 EDT = 09:00:00 UTC"

        await s.pilot.press("U")
        await s.wait_for(lambda: "05:00:00 declared" in screen_text(s.app))
        # the record itself never changed: UTC, as the hub stamped it
        assert client.log[0].at == T0 and client.state.declared_at == T0


async def test_the_palette_switches_the_clock_and_shows_both_times(tmp_path) -> None:
    async with console_session(tmp_path, timezone="Europe/Berlin", size=(120, 30)) as s:
        await s.pilot.press("ctrl+p")
        await s.pilot.pause()
        await s.pilot.press(*"times")
        # what the command says while highlighted: now on both clocks (NOW is 09:03 UTC)
        await s.wait_for(lambda: "Now 10:03:00 CET (09:03:00 UTC)" in screen_text(s.app))
        await s.pilot.pause(0.3)
        await s.pilot.press("enter")
        await s.wait_for(lambda: s.app.times.utc)
        assert isinstance(s.app.screen, ConsoleScreen)


async def test_the_retime_form_reads_the_persons_zone_and_says_which(tmp_path) -> None:
    async with scribe_in(tmp_path, "Europe/Berlin") as s:
        client = s.app.client
        assert client is not None
        await s.pilot.press("1", "n", *"rollback started", "enter")
        await s.wait_for(lambda: client.state.note_count == 1)
        await s.wait_for(lambda: not s.app.screen.query_one(TimelinePane).view.pending)
        note = client.log[-1]
        await s.pilot.press("t")
        assert isinstance(s.app.screen, RetimeForm)
        assert "When it happened, Europe/Berlin" in screen_text(s.app)
        await s.pilot.press(*"09:52", "enter", *"the deploy log says 09:52 CET", "enter")
        await s.wait_for(lambda: note.seq in client.state.retimes)
        retime = client.state.retimes[note.seq][-1]
        assert retime.happened_at == datetime(2026, 3, 14, 8, 52, tzinfo=UTC)
        await s.wait_for(lambda: "↶ happened 09:52:00" in screen_text(s.app))


async def test_the_declaration_form_reads_detected_in_the_persons_zone(tmp_path) -> None:
    async with console_session(
        tmp_path, seed=False, join=False, size=(100, 30), timezone="Europe/Berlin"
    ) as s:
        s.app.clock = lambda: T0  # the console agrees with the hub's clock
        await s.pilot.press("n")
        assert isinstance(s.app.screen, DeclareScreen)
        form = s.app.screen
        assert form.query_one("#detected", Input).value == "2026-03-14 10:00", "local now"
        assert form.query_one("#timezone", Input).value == "Europe/Berlin", "the person's zone"
        assert "Europe/Berlin · 0s ago" in screen_text(s.app)
        await s.pilot.press(*"Payments failing", "tab", "tab", "ctrl+u", *"09:40", "ctrl+s")
        await s.wait_for(lambda: isinstance(s.app.screen, ConsoleScreen), timeout=10)
        await s.wait_for(lambda: s.app.client is not None and s.app.client.state.declared)
        state = s.app.client.state
        assert state.detected_at == datetime(2026, 3, 14, 8, 40, tzinfo=UTC)
        assert state.timezone == "Europe/Berlin"


async def test_a_console_without_a_zone_uses_the_systems_and_a_bad_one_says_so(tmp_path) -> None:
    async with console_session(tmp_path, size=(100, 30)) as s:
        assert s.app.times.label == "UTC", "TZ=UTC in the tests: the system's zone"
    async with console_session(tmp_path / "b", timezone="Mars/Olympus", size=(100, 30)) as s:
        assert s.app.times.label == "UTC"
        assert any("Mars/Olympus" in n.message for n in s.app._notifications)
    assert NOW > T0


async def test_the_summary_and_the_postmortem_name_the_incidents_zone(tmp_path) -> None:
    async with console_session(
        tmp_path, seed=False, join=False, size=(120, 34), timezone="Europe/Berlin"
    ) as s:
        await seed_incident(s.hub.url, timezone="Europe/Berlin")
        s.app.join_incident(INCIDENT_ID)
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        client = s.app.client
        assert client is not None and client.state.timezone == "Europe/Berlin"
        await s.pilot.press("7")
        await s.wait_for(lambda: "Times (Europe/Berlin)" in screen_text(s.app))
        shown = screen_text(s.app)
        assert "incident zone   Europe/Berlin" in shown
        assert "detected        09:55" in shown, "08:55 UTC on the Berlin clock"
        text = draft(None, list(client.log))
        assert "_Times are UTC (the incident's reference time zone was Europe/Berlin)" in text
        assert "08:55" in text, "the draft stays in UTC"
