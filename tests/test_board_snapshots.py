"""Snapshots of the board with cards in every column, at the two sizes a console is used at."""

from __future__ import annotations

from tests.board_room import snap_filled_room

#: cy (a responder checking one guess) looks at a board with every kind of card.
CY = {"name": "cy", "role": "responder"}


def test_board_with_cards_in_every_column_80x24(snap_compare, tmp_path):
    assert snap_filled_room(snap_compare, tmp_path, **CY, press=["2"], size=(80, 24))


def test_board_with_cards_in_every_column_160x48(snap_compare, tmp_path):
    assert snap_filled_room(snap_compare, tmp_path, **CY, press=["2", "l"], size=(160, 48))
