"""Page links from the console: ``l`` in the comms pane makes one, shows it once, revokes it."""

from __future__ import annotations

import re

import httpx
import pytest
from textual.widgets import DataTable

from tests.console_helpers import console_session, screen_text
from warroom.console.screens.page_links import PageLinksForm
from warroom.console.screens.shown_once import ShownOnceScreen

URL = re.compile(r"http://[^\s/]+/status/[\w-]+\?key=[\w.-]+")


@pytest.mark.parametrize("size", [(80, 24), (140, 45)])
async def test_the_ic_makes_a_link_that_opens_the_page_and_revokes_it(tmp_path, size):
    """The link is shown on a screen of its own, whole on one line where the terminal is wide
    enough, and ``c`` copies it whole where it is not (at 80 columns it was broken over two
    lines of the form, its scroll bar drawn over it)."""
    async with console_session(tmp_path, role="ic", size=size) as s:
        await s.pilot.press("5", "l")
        await s.wait_for(lambda: isinstance(s.app.screen, PageLinksForm))
        form = s.app.screen
        await s.pilot.press(*"support desk")
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: isinstance(s.app.screen, ShownOnceScreen))
        await s.pilot.press("c")
        url = s.app.clipboard
        assert URL.fullmatch(url), url
        if size[0] >= 120:
            assert url in screen_text(s.app), "whole, on one line"
        await s.pilot.press("escape")
        await s.wait_for(lambda: s.app.screen is form)
        table = form.query_one("#link-list", DataTable)
        await s.wait_for(lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[1:3]) == "['external', 'support desk']"
        # The address carries the secret; the room's record carries only the digest.
        secret = url.split("key=")[1].split(".")[1]
        assert secret not in "".join(e.model_dump_json() for e in s.app.client.log)
        async with httpx.AsyncClient() as http:
            page = await http.get(url)
            assert page.status_code == 200 and "Checkout" in page.text

            table.focus()
            await s.pilot.press("x")
            await s.wait_for(lambda: table.row_count == 0)
            assert (await http.get(url)).status_code == 403
        await s.pilot.press("escape")
        await s.wait_for(lambda: not isinstance(s.app.screen, PageLinksForm))


async def test_a_responder_has_no_links_key(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder") as s:
        await s.pilot.press("5", "l")
        await s.pilot.pause()
        assert not isinstance(s.app.screen, PageLinksForm)
