"""Older timeline entries on request: the ``history`` op.

A console that joined by snapshot holds only the last events of the incident; when its reader
scrolls to the top of the timeline it asks for the page before, and the export pages through a
whole incident the same way. Pages come from the room's frames while the hub holds them in
memory, else from the database, read on the store's reading connection in a worker thread (the
writer keeps its connection, and the event loop never waits on the disk).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from warroom.hub.rooms import Conn, Room
from warroom.hub.storage_api import EventStore

from warroom.core.protocol import Error, History


async def history_frame(store: EventStore, room: Room, msg: History) -> str:
    """The ``history_page`` answering ``msg``: the newest ``msg.limit`` events with
    ``seq < msg.before``, oldest first."""
    before = min(msg.before, room.head + 1)
    start = max(1, before - msg.limit)
    count = max(0, before - start)
    events: list[dict[str, Any]]
    # Only the page's own frames: not every frame from ``start`` to the head.
    frames = [room.frame_after(seq) for seq in range(start - 1, start - 1 + count)]
    if all(frame is not None for frame in frames):
        events = [json.loads(frame)["event"] for frame in frames if frame is not None]
    else:
        events = await _stored(store, room.incident_id, start, count)
    page = {
        "op": "history_page",
        "incident": room.incident_id,
        "before": msg.before,
        "events": events,
        "complete": start <= 1,
    }
    return json.dumps(page, separators=(",", ":"))


async def _stored(
    store: EventStore, incident_id: str, start: int, count: int
) -> list[dict[str, Any]]:
    """Events ``start .. start + count - 1`` of an incident, as stored (read in a worker
    thread, on the store's reading connection: never the writer's)."""
    return await asyncio.to_thread(store.reader.page, incident_id, start, count)


async def answer_history(
    store: EventStore, conn: Conn, msg: History, send: Callable[[Conn, Any], None]
) -> None:
    """Answer ``history`` on ``conn`` (with ``send``, the hub's direct reply): a page of the
    incident it follows, or ``not_joined``."""
    room = conn.room
    if room is None or room.incident_id != msg.incident:
        send(
            conn,
            Error(
                code="not_joined",
                message=f"Join {msg.incident} on this connection before asking for its history.",
            ),
        )
        return
    send(conn, await history_frame(store, room, msg))
