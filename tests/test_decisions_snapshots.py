"""Snapshots of the decision log (a superseded decision, follow-ups) and the status update draft."""

from __future__ import annotations

from tests.board_room import seed_room
from tests.console_helpers import INCIDENT_ID, hub_in_thread, make_console, until_live


def ic_console(hub):
    """ana's console (the IC) after the room has filled the board and the decision log."""
    hub.seed()
    hub.call(seed_room(hub.url, INCIDENT_ID))
    return make_console(hub.url, name="ana", role="ic")


def test_decision_log_80x24(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        app = ic_console(hub)
        assert snap_compare(app, press=["3"], terminal_size=(80, 24), run_before=until_live)


def test_decision_log_160x48(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        app = ic_console(hub)
        assert snap_compare(app, press=["3", "k"], terminal_size=(160, 48), run_before=until_live)


def test_status_update_draft_80x24(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        app = ic_console(hub)
        assert snap_compare(app, press=["3", "u"], terminal_size=(80, 24), run_before=until_live)
