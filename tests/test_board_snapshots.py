"""Snapshots of the board with cards in every column, at the two sizes a console is used at."""

from __future__ import annotations

from tests.board_room import seed_room
from tests.console_helpers import INCIDENT_ID, hub_in_thread, make_console, until_live


def board_console(hub):
    """cy's console (a responder checking one guess) on a board with every kind of card."""
    hub.seed()
    hub.call(seed_room(hub.url, INCIDENT_ID))
    return make_console(hub.url, name="cy", role="responder")


def test_board_with_cards_in_every_column_80x24(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        app = board_console(hub)
        assert snap_compare(app, press=["2"], terminal_size=(80, 24), run_before=until_live)


def test_board_with_cards_in_every_column_160x48(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        app = board_console(hub)
        assert snap_compare(app, press=["2", "l"], terminal_size=(160, 48), run_before=until_live)
