"""Forms on the console: how they look after other screens, and where typed keys land.

Issue 16: labels flipped to right-aligned on consoles that had opened the declaration screen
(item 8).
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Label

from tests.console_helpers import console_session, is_live
from warroom.console.screens.board_form import CommandForm
from warroom.console.screens.declare import DeclareScreen
from warroom.console.screens.join import JoinScreen


def label_alignments(screen) -> set[str]:
    return {str(label.styles.text_align) for label in screen.query(Label).filter(".field-label")}


async def test_form_labels_stay_left_aligned_after_the_declaration_screen(tmp_path: Path) -> None:
    async with console_session(tmp_path, role="ic", join=False) as s:
        await s.wait_for(lambda: bool(s.app.screen.incidents))  # type: ignore[attr-defined]
        await s.pilot.press("n")
        await s.wait_for(lambda: isinstance(s.app.screen, DeclareScreen))
        # The declaration's own labels sit right-aligned against their fields ...
        assert label_alignments(s.app.screen) == {"right"}
        await s.pilot.press("escape")
        await s.wait_for(lambda: isinstance(s.app.screen, JoinScreen))
        await s.pilot.press("enter")
        await s.wait_for(lambda: is_live(s.app), timeout=10)
        await s.pilot.press("2", "a")
        await s.wait_for(lambda: isinstance(s.app.screen, CommandForm))
        # ... and no other form's labels follow them.
        alignments = label_alignments(s.app.screen)
        assert alignments and alignments <= {"start", "left"}, alignments
