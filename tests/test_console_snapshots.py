"""What the console looks like: join screen, declaration form, each role at 80x24 and 160x48,
the help screen, and the other themes. Fixed clocks and names keep every run identical."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.console_helpers import hub_in_thread, make_console, until_live
from tests.helpers import eventually
from warroom.core.incident import NoteAdded

ROLES = {
    "ic": "ana",
    "scribe": "sam",
    "comms": "cora",
    "lead": "lee",
    "responder": "rita",
    "observer": "olga",
}
SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


def a_busy_room(hub) -> None:
    """The seeded incident with a few lines already on the record."""
    hub.seed()
    hub.post("sam", "scribe", NoteAdded(text="5xx on checkout-api since 08:55", kind="finding"))
    hub.post(
        "sam",
        "scribe",
        NoteAdded(text="kubectl rollout history deploy/checkout-api", kind="command"),
    )
    hub.post("sam", "scribe", NoteAdded(text="IC: roll back to 2024.11.3", kind="decision_heard"))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("role", ROLES)
def test_role_console(snap_compare, tmp_path, role, size):
    with hub_in_thread(tmp_path) as hub:
        a_busy_room(hub)
        app = make_console(hub.url, name=ROLES[role], role=role)
        assert snap_compare(app, terminal_size=SIZES[size], run_before=until_live)


async def until_listed(pilot: Pilot) -> None:
    await eventually(lambda: pilot.app.screen.query(DataTable)
                     and pilot.app.screen.query_one(DataTable).row_count > 0)  # fmt: skip
    await pilot.pause()


def test_join_screen(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        app = make_console(hub.url, name="rita", role="responder", incident=None,
                           share_hint="warroom join ws://10.0.0.5:8765 --name NAME --role ROLE")  # fmt: skip
        assert snap_compare(app, terminal_size=(100, 24), run_before=until_listed)


def test_declaration_form(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        app = make_console(hub.url, name="ana", role="ic", incident=None)

        async def open_form(pilot: Pilot) -> None:
            await pilot.pause()
            await pilot.press("n", *"Checkout errors after deploy", "tab", "down")
            await pilot.pause()

        assert snap_compare(app, terminal_size=(80, 24), run_before=open_form)


def test_help_screen(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        a_busy_room(hub)
        app = make_console(hub.url, name="sam", role="scribe")

        async def open_help(pilot: Pilot) -> None:
            await until_live(pilot)
            await pilot.press("question_mark")
            await pilot.pause()

        assert snap_compare(app, terminal_size=(100, 40), run_before=open_help)


@pytest.mark.parametrize("theme", ["warroom-light", "warroom-contrast"])
def test_theme(snap_compare, tmp_path, theme):
    with hub_in_thread(tmp_path) as hub:
        a_busy_room(hub)
        app = make_console(hub.url, name="sam", role="scribe", theme=theme)
        assert snap_compare(app, terminal_size=(100, 30), run_before=until_live)


@pytest.mark.parametrize("size", {"80x24": (80, 24), "140x45": (140, 45)})
def test_join_code_screen(snap_compare, tmp_path, size):
    """The code on a line of its own and the guest's command, at 80 columns too."""
    from warroom.console.screens.join_code import JoinCodeScreen
    from warroom.core.access import SeatLimit

    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        app = make_console(hub.url, name="ana", role="ic")

        async def show_code(pilot: Pilot) -> None:
            await until_live(pilot)
            code = "inc-checkout:0a1b2c3d:hKj1CBre2ebgrYSBkK2qK2Xg"
            await pilot.app.push_screen(
                JoinCodeScreen(code, "0a1b2c3d", "wss://bastion:8765", SeatLimit.RESPONDER)
            )
            await pilot.pause()

        assert snap_compare(app, terminal_size={"80x24": (80, 24), "140x45": (140, 45)}[size],
                            run_before=show_code)  # fmt: skip
