"""Snapshots of the decision log (a superseded decision, follow-ups) and the status update draft."""

from __future__ import annotations

from tests.board_room import snap_filled_room

#: ana (the IC) looks after the room has filled the board and the decision log.
ANA = {"name": "ana", "role": "ic"}


def test_decision_log_80x24(snap_compare, tmp_path):
    assert snap_filled_room(snap_compare, tmp_path, **ANA, press=["3"], size=(80, 24))


def test_decision_log_160x48(snap_compare, tmp_path):
    assert snap_filled_room(snap_compare, tmp_path, **ANA, press=["3", "k"], size=(160, 48))


def test_status_update_draft_80x24(snap_compare, tmp_path):
    assert snap_filled_room(snap_compare, tmp_path, **ANA, press=["3", "u"], size=(80, 24))
