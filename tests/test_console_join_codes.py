"""The IC lets a guest in with a join code from the command palette, and shuts them out again."""

from __future__ import annotations

import re
from pathlib import Path

from tests.console_helpers import console_session, screen_text
from tests.helpers import eventually, fast_backoff
from warroom.client.sync import IncidentClient
from warroom.core.incident import NoteAdded


async def test_ic_creates_a_code_a_guest_joins_with_it_and_revoking_shuts_them_out(tmp_path: Path):
    async with console_session(tmp_path, role="ic", size=(120, 40)) as s:
        shown: list[str] = []
        original = s.app.notify

        def capture(message, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
            shown.append(str(message))
            return original(message, *args, **kwargs)

        s.app.notify = capture  # type: ignore[method-assign]
        await s.palette("join code guest", "Join code: create one for a guest")
        await s.wait_for(lambda: any("--join-code" in m for m in shown), timeout=10)
        code = re.search(rf"{s.incident}:[0-9a-f]+:\S+", "\n".join(shown)).group(0)
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
