"""An open status page follows the incident over its live feed, and a revoked link's feed ends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import T0, running_hub
from tests.status_room import EXTERNAL, GUESS, INTERNAL, make_link, publish, status_room
from warroom.core.board import BoardItemAdded
from warroom.core.clock import ManualClock
from warroom.core.comms_state import Audience
from warroom.core.incident import NoteAdded
from warroom.core.lifecycle import PhaseChanged, SeverityChanged
from warroom.core.protocol import Ack
from warroom.core.status_page import PageLinkRevoked


def live_url(hub_url: str, incident: str, key: str) -> str:
    return f"{hub_url}/status/{incident}/live?key={key}"


async def next_page(ws: Any, timeout: float = 2.0) -> dict[str, Any]:
    """The next page the feed sends; within two seconds, as the page promises its readers."""
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert message["type"] == "page"
    return message


async def test_the_feed_sends_the_page_and_each_visible_change_only(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        async with connect(live_url(hub.url, room.incident, key)) as ws:
            first = await next_page(ws)
            assert "No update has been published yet." in first["html"]
            assert first["title"] == "Investigating: Checkout errors after deploy"

            await publish(room.cy, Audience.EXTERNAL, EXTERNAL, clock)
            assert EXTERNAL in (await next_page(ws))["html"]

            # What the external page does not show changes nothing on it: no message at all.
            await publish(room.cy, Audience.INTERNAL, INTERNAL, clock)
            assert isinstance(await room.bo.post(NoteAdded(text="restarting db-7")), Ack)
            assert isinstance(await room.bo.post(BoardItemAdded(kind="guess", text=GUESS)), Ack)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)

            await room.ana.post(SeverityChanged(severity="SEV1", reason="whole EU down"))
            page = await next_page(ws)
            assert "Critical (SEV1)" in page["html"] and INTERNAL not in page["html"]
            await room.ana.post(PhaseChanged(phase="triage"))
            await room.ana.post(PhaseChanged(phase="mitigating"))
            pages = [await next_page(ws)]
            while "Fixing" not in pages[-1]["html"]:
                pages.append(await next_page(ws))
            assert pages[-1]["title"].startswith("Fixing: ")
        await room.close()


async def test_revoking_a_link_closes_its_open_pages_and_no_other(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        kept, _ = await make_link(room.cy, Audience.INTERNAL)
        async with (
            connect(live_url(hub.url, room.incident, key)) as revoked_ws,
            connect(live_url(hub.url, room.incident, kept)) as kept_ws,
        ):
            await next_page(revoked_ws)
            await next_page(kept_ws)
            ack = await room.cy.post(PageLinkRevoked(link_id=key.split(".")[0]))
            assert isinstance(ack, Ack)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(revoked_ws.recv(), 2)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
            await publish(room.cy, Audience.INTERNAL, INTERNAL, clock)
            assert INTERNAL in (await next_page(kept_ws))["html"]
        # Reconnecting with the revoked link is refused at the handshake.
        with pytest.raises(InvalidStatus) as refused:
            async with connect(live_url(hub.url, room.incident, key)):
                pass
        assert refused.value.response.status_code == 403
        await room.close()


async def test_the_feed_refuses_outsiders_and_foreign_origins(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        host = hub.url.removeprefix("ws://")
        for url, origin, status in (
            (f"{hub.url}/status/{room.incident}/live", None, 401),
            (live_url(hub.url, room.incident, key[:-2] + "xx"), None, 403),
            (live_url(hub.url, "INC-OTHER", key), None, 403),
            (live_url(hub.url, room.incident, key), "https://evil.example", 403),
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, origin=origin):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == status, url
        # The page's own origin is welcome, as a browser sends it.
        async with connect(live_url(hub.url, room.incident, key), origin=f"http://{host}") as ws:  # type: ignore[arg-type]
            await next_page(ws)
        await room.close()


async def test_a_full_hub_turns_live_pages_away_and_they_reload_instead(tmp_path):
    from warroom.hub.status_config import StatusConfig

    clock = ManualClock(T0)
    config = StatusConfig(max_viewers=1)
    async with running_hub(tmp_path / "hub.db", clock=clock, status=config) as hub:
        room = await status_room(hub.url, clock)
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        async with connect(live_url(hub.url, room.incident, key)) as ws:
            await next_page(ws)
            with pytest.raises(InvalidStatus) as refused:
                async with connect(live_url(hub.url, room.incident, key)):
                    pass
            assert refused.value.response.status_code == 503
        await room.close()
