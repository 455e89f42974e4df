"""The IC lets a guest in with a join code from the command palette, and shuts them out again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.console_helpers import console_session, screen_text
from tests.helpers import eventually, fast_backoff
from warroom.client.sync import IncidentClient
from warroom.console.screens.shown_once import ShownOnceScreen
from warroom.core.incident import NoteAdded


def code_on_screen(s) -> str:
    """The join code as the IC reads it off the screen: on one line, whole."""
    found = re.search(rf"{s.incident}:[0-9a-f]+:[A-Za-z0-9_-]+", screen_text(s.app))
    assert found is not None, screen_text(s.app)
    return found.group(0)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_ic_creates_a_code_a_guest_joins_with_it_and_revoking_shuts_them_out(
    tmp_path: Path, size: tuple[int, int]
):
    """The code is read off the screen as the IC would copy it. Seen in tmux at 80x24: it was
    in a notification 38 columns wide that broke it over two lines, so a copy of it was not a
    code the hub accepts."""
    async with console_session(tmp_path, role="ic", size=size) as s:
        await s.palette("join code guest", "Join code: create one for a guest")
        await s.wait_for(lambda: isinstance(s.app.screen, ShownOnceScreen), timeout=10)
        code = code_on_screen(s)
        assert f"--join-code {code}" in screen_text(s.app), "the guest's command has it too"
        await s.pilot.press("c")
        assert s.app.clipboard == code
        await s.pilot.press("escape")
        await s.wait_for(lambda: not isinstance(s.app.screen, ShownOnceScreen))
        codes = s.app.client.state.access.codes
        assert len(codes) == 1 and code.split(":")[2] not in str(s.app.client.log[-1].payload())

        guest = IncidentClient(s.hub.url, "vendor-vic", "responder", s.incident,
                               join_code=code, backoff=fast_backoff())  # fmt: skip
        guest.start()
        await guest.wait_synced()
        assert (await guest.post(NoteAdded(text="vendor side looks clean"))).op == "ack"

        code_id = code.split(":")[1]
        await s.palette(f"revoke {code_id}", f"Join code: revoke {code_id}")
        await eventually(lambda: guest.status in ("reconnecting", "offline"), timeout=10)
        await eventually(lambda: guest.fatal is not None, timeout=10)
        assert s.app.client.state.access.codes[code_id].revoked
        await guest.close()


async def test_only_the_ic_is_offered_join_codes(tmp_path: Path):
    async with console_session(tmp_path, name="sam", role="responder", size=(120, 40)) as s:
        await s.pilot.press("ctrl+p")
        await s.pilot.pause()
        await s.pilot.press(*"join code")
        await s.pilot.pause(0.5)
        assert "Join code: create" not in screen_text(s.app)
