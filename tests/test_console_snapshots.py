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


SHOWN_ONCE_SIZES = {"80x24": (80, 24), "140x45": (140, 45)}


@pytest.mark.parametrize("size", SHOWN_ONCE_SIZES)
@pytest.mark.parametrize("kind", ["join-code", "page-link"])
def test_a_secret_shown_once(snap_compare, tmp_path, kind, size):
    """A join code or a page link on lines of their own, at 80 columns too."""
    from warroom.console.screens.shown_once import join_code_screen, page_link_screen
    from warroom.core.access import SeatLimit

    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        app = make_console(hub.url, name="ana", role="ic")
        code = "inc-checkout:0a1b2c3d:hKj1CBre2ebgrYSBkK2qK2Xg"
        link = (
            "https://status.example.com:8765/status/inc-checkout?key="
            "c5d0f08e117b.KicU46EJq6xVmg3Zl1zc4Fk_tSdP5ouNv8z62DDt0Ho"
        )
        screen = (
            join_code_screen(code, "0a1b2c3d", "wss://bastion:8765", SeatLimit.RESPONDER)
            if kind == "join-code"
            else page_link_screen(link, "c5d0f08e117b", "external")
        )

        async def show(pilot: Pilot) -> None:
            await until_live(pilot)
            await pilot.app.push_screen(screen)
            await pilot.pause()

        assert snap_compare(app, terminal_size=SHOWN_ONCE_SIZES[size], run_before=show)
