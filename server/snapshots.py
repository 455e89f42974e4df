"""How a joining console is brought up to date: a resume when it missed little, else a snapshot.

A console that joins with ``since`` > 0, missed at most :data:`RESUME_LIMIT` events and whose
missed frames the hub still holds in memory gets exactly those frames (a resume). Anyone else
gets a ``snapshot`` (the folded state as of the head) followed by the frames of the last
:data:`TAIL` events for its timeline. Either way the console's sender then walks the room's
frames from the connection's cursor to the head and sends ``synced``, so joining costs the same
for an incident of a thousand events as for one of a million.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from warroom.hub.rooms import Room

from warroom.core.protocol import RESUME_LIMIT, TAIL
from warroom.core.wire_state import state_json


@dataclass(frozen=True)
class JoinPlan:
    """What a join sends before ``synced``: the snapshot frame (if any), and where the
    connection's cursor starts (its sender sends every frame after it)."""

    cursor: int
    snapshot: str | None = None


def plan_join(room: Room, since: int) -> JoinPlan:
    """Resume from ``since`` when that is short and in memory; otherwise snapshot + tail."""
    head = room.head
    if 0 < since <= head and head - since <= RESUME_LIMIT and room.frames_after(since) is not None:
        return JoinPlan(cursor=since)
    return JoinPlan(cursor=tail_start(room), snapshot=snapshot_frame(room))


def tail_start(room: Room) -> int:
    """The cursor after which the last :data:`TAIL` events follow (fewer if the hub holds
    fewer of them in memory; the console pages further back with ``history``)."""
    head = room.head
    start = max(0, head - TAIL)
    while start < head and room.frames_after(start) is None:
        start += max(1, (head - start) // 2)
    return min(start, head)


#: The last snapshot frame built for each room, with the seq it is at: consoles that join while
#: nothing is written (a team arriving together, reconnecting after a hub restart) share it.
_LATEST: WeakKeyDictionary[Room, tuple[int, str]] = WeakKeyDictionary()


def forget_snapshot(room: Room) -> None:
    """Drop the snapshot frame kept for ``room`` (a redaction made it wrong to serve)."""
    _LATEST.pop(room, None)


def snapshot_frame(room: Room) -> str:
    """The ``snapshot`` message of ``room`` as of its head, serialised once per seq."""
    cached = _LATEST.get(room)
    if cached is not None and cached[0] == room.state.seq:
        return cached[1]
    frame = json.dumps(
        {
            "op": "snapshot",
            "incident": room.incident_id,
            "seq": room.state.seq,
            "state": state_json(room.state),
        },
        separators=(",", ":"),
    )
    _LATEST[room] = (room.state.seq, frame)
    return frame
