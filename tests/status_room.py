"""A room for the status page tests: an IC, a comms lead, a responder, a guess, a note, links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from tests.helpers import T0, client, declare_incident
from warroom.client.sync import IncidentClient
from warroom.core.board import BoardItemAdded
from warroom.core.clock import ManualClock
from warroom.core.comms import UpdatePublished
from warroom.core.comms_state import Audience
from warroom.core.incident import NoteAdded
from warroom.core.protocol import Ack
from warroom.core.status_page import PageLinkCreated
from warroom.core.status_page_state import new_page_link

#: Things that are in the room and must never reach a page.
GUESS = "SECRET-GUESS the payments pool leaks connections"
NOTE = "SECRET-NOTE bo is restarting db-7 by hand"
INTERNAL = "SECRET-INTERNAL finance asked us to hold refunds"
#: Published for everyone.
EXTERNAL = "Card payments fail for some customers in the EU."


@dataclass
class StatusRoom:
    incident: str
    ana: IncidentClient  # IC
    cy: IncidentClient  # comms lead
    bo: IncidentClient  # responder

    async def close(self) -> None:
        for c in (self.ana, self.cy, self.bo):
            await c.close()


async def status_room(url: str, clock: ManualClock, token: str | None = None) -> StatusRoom:
    incident = await declare_incident(url, scope="Card payments in the EU", token=token)
    room = StatusRoom(
        incident,
        await client(url, "ana", "ic", incident, token=token),
        await client(url, "cy", "comms", incident, token=token),
        await client(url, "bo", "responder", incident, token=token),
    )
    assert isinstance(await room.bo.post(BoardItemAdded(kind="guess", text=GUESS)), Ack)
    assert isinstance(await room.bo.post(NoteAdded(text=NOTE)), Ack)
    clock.advance(timedelta(minutes=5))
    return room


async def publish(
    who: IncidentClient, audience: Audience, text: str, clock: ManualClock, **fields: Any
) -> Ack:
    ack = await who.post(
        UpdatePublished(
            audience=audience,
            text=text,
            fields=fields,
            next_update_at=clock() + timedelta(minutes=30),
        )
    )
    assert isinstance(ack, Ack), ack
    return ack


async def make_link(who: IncidentClient, audience: Audience, label: str = "") -> tuple[str, Ack]:
    """A page link made as the console makes one: ``(key, ack)``."""
    issued = new_page_link()
    ack = await who.post(
        PageLinkCreated(
            link_id=issued.link_id, digest=issued.digest, audience=audience, label=label
        )
    )
    assert isinstance(ack, Ack), ack
    return issued.key, ack


def http_base(hub_url: str) -> str:
    return hub_url.replace("ws://", "http://")


async def get(hub_url: str, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=http_base(hub_url)) as http:
        return await http.get(path, **kw)


__all__ = ["T0", "StatusRoom", "status_room", "publish", "make_link", "get"]
