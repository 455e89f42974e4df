"""In-memory view of each incident and each connection, kept in step with the stored log."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from warroom.hub.storage import row_event
from websockets.asyncio.server import ServerConnection

from warroom.core.events import EventBase
from warroom.core.log import parse_event
from warroom.core.protocol import LockView
from warroom.core.roles import Role
from warroom.core.state import IncidentState

#: Frames of its newest events a room keeps in memory (``[memory] tail_frames``).
DEFAULT_TAIL_FRAMES = 2000


def event_frame(event: EventBase, lock: LockView | None = None) -> str:
    """The ``event`` message for ``event``, serialised once and sent to everyone; with ``lock``
    (the lock after the event) when the event changed the production lock and the hub knows
    it (it folded the event; a frame made from a stored row alone cannot say)."""
    frame: dict[str, Any] = {"op": "event", "event": event.model_dump(mode="json")}
    if lock is not None:
        frame["lock"] = lock.model_dump(mode="json")
    return json.dumps(frame, separators=(",", ":"))


def row_frame(row: tuple[Any, ...]) -> str:
    """The frame of a stored event row (the same text as when the event was first sent)."""
    return event_frame(row_event(row))


@dataclass(eq=False)
class Room:
    """One incident: its folded state, the frames of its newest events, and who follows it.

    Keeping the newest events as serialised frames means a broadcast serialises each event once,
    and a console that is a little behind is served from memory, with no per-client copy of the
    events. Only a bounded tail is kept (between ``tail_limit`` and twice that many frames):
    ``frames[i]`` is the event with seq ``base + i + 1``; older frames are read from storage.

    A room loaded from the database holds its tail as stored rows, turned into frames the first
    time they are sent (most are never sent: consoles resume near the head), which keeps a
    start from parsing thousands of events per open incident.
    """

    incident_id: str
    state: IncidentState
    #: A frame, or the stored row it is made from on first use (see :func:`row_frame`).
    frames: list[str | tuple[Any, ...]] = field(default_factory=list)
    #: The seq of the event before ``frames[0]`` (0 when every frame is in memory).
    base: int = 0
    tail_limit: int = DEFAULT_TAIL_FRAMES
    conns: set[Conn] = field(default_factory=set)
    #: Open connections per participant name; joined/left is recorded on 0 <-> 1.
    online: dict[str, int] = field(default_factory=dict)
    #: Monotonic time the hub last handed this room out (a closed room idle long enough is
    #: dropped from memory; see ``server/loading.py``).
    used_at: float = 0.0

    @property
    def head(self) -> int:
        return self.base + len(self.frames)

    def append(self, frame: str) -> None:
        """Add the frame of the next event; trim the oldest frames past the tail's bound."""
        self.frames.append(frame)
        if self.tail_limit > 0 and len(self.frames) >= 2 * self.tail_limit:
            cut = len(self.frames) - self.tail_limit
            del self.frames[:cut]
            self.base += cut

    def frames_after(self, seq: int) -> list[str] | None:
        """The frames of the events after ``seq``, or ``None`` when the hub no longer holds all
        of them in memory (the caller then serves a snapshot or reads storage)."""
        if seq < self.base or seq > self.head:
            return None
        frames = []
        for index in range(seq - self.base, len(self.frames)):
            frame = self._frame(index)
            if frame is None:
                return None
            frames.append(frame)
        return frames

    def frame_after(self, seq: int) -> str | None:
        """The frame of the event with seq ``seq + 1``, if it is in memory."""
        index = seq - self.base
        if 0 <= index < len(self.frames):
            return self._frame(index)
        return None

    def event_at(self, seq: int) -> EventBase | None:
        """The event with ``seq`` if its frame (or row) is in memory, else ``None``."""
        index = seq - self.base - 1
        if not 0 <= index < len(self.frames):
            return None
        frame = self.frames[index]
        try:
            if isinstance(frame, str):
                return parse_event(json.loads(frame)["event"])
            return row_event(frame)
        except Exception:  # an unreadable frame: the caller reads storage instead
            return None

    def _frame(self, index: int) -> str | None:
        frame = self.frames[index]
        if isinstance(frame, str):
            return frame
        try:
            made = row_frame(frame)
        except Exception:  # an unreadable row: served (and reported) by the storage path
            return None
        self.frames[index] = made
        return made


@dataclass(eq=False)
class Conn:
    """One console's connection.

    It has its own small queue for direct replies (acks, errors) and a cursor into its room's
    log; its sender task walks the cursor to the head. A slow console therefore only delays
    itself, and holds no copy of the events it has not read yet.
    """

    ws: ServerConnection
    direct: asyncio.Queue[str]
    name: str = ""
    seat: Role = Role.RESPONDER
    room: Room | None = None
    cursor: int = 0
    synced_pending: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False
    #: True while the sender task waits for news (so the hub may write to it directly).
    idle: bool = False
    #: Joined without presence: reads the log, may not write.
    reader_only: bool = False
    #: Monotonic time since which its socket has been full (writing paused) without the peer
    #: reading anything, if it is; and the unsent bytes seen at the last check.
    stalled_since: float | None = None
    stall_buffer: int = 0

    @property
    def greeted(self) -> bool:
        return bool(self.name)


@dataclass
class Stored:
    """Where an event id was stored: the idempotency index."""

    incident_id: str
    seq: int
    #: Who it was stored for: a retry is acknowledged only to the same name.
    actor: str = ""


#: Command ids the hub keeps in memory (``[memory] recent_ids``); older ones are looked up.
DEFAULT_RECENT_IDS = 50_000


IdIndex = dict[UUID, Stored]
"""Where event ids of one batch were stored (the writer's view before it commits)."""


class RecentIds:
    """The idempotency index: where each event id was stored.

    The most recent ids are kept in memory; any other is looked up in the database (the
    ``events.id`` index) with ``lookup``, so a retry of a command stored long ago is still
    recognised, and the hub's memory does not grow with the log. The writer calls
    :meth:`prefetch` with a batch's ids (one query) before it decides the batch.
    """

    def __init__(
        self,
        lookup: Callable[[list[str]], dict[str, tuple[str, int, str]]] | None = None,
        capacity: int = DEFAULT_RECENT_IDS,
    ) -> None:
        self._recent: OrderedDict[UUID, Stored] = OrderedDict()
        #: What the last :meth:`prefetch` found, kept whole for the batch it was made for (the
        #: bounded memory could drop some of them if a batch found more than it holds).
        self._prefetched: dict[UUID, Stored] = {}
        self.lookup = lookup
        self.capacity = capacity
        #: Ids looked up in the database, and how many of those were found (for tests, stats).
        self.looked_up = 0
        self.found = 0

    def __len__(self) -> int:
        return len(self._recent)

    def get(self, event_id: UUID) -> Stored | None:
        """Where ``event_id`` is stored, from memory only (see :meth:`prefetch`)."""
        return self._recent.get(event_id) or self._prefetched.get(event_id)

    def __setitem__(self, event_id: UUID, stored: Stored) -> None:
        self._recent[event_id] = stored
        self._recent.move_to_end(event_id)
        while len(self._recent) > max(self.capacity, 1):
            self._recent.popitem(last=False)

    def update(self, other: dict[UUID, Stored]) -> None:
        for event_id, stored in other.items():
            self[event_id] = stored

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, UUID):
            return False
        if event_id in self._recent:
            return True
        self.prefetch([event_id])
        return event_id in self._prefetched

    def prefetch(self, ids: Iterable[UUID]) -> int:
        """Bring the ids of ``ids`` that are stored but not in memory into memory; returns how
        many of them were found stored."""
        self._prefetched = {}
        if self.lookup is None:
            return 0
        missing = [str(i) for i in ids if i not in self._recent]
        if not missing:
            return 0
        self.looked_up += len(missing)
        for event_id, (incident_id, seq, actor) in self.lookup(missing).items():
            self.found += 1
            stored = Stored(incident_id, seq, actor)
            self._prefetched[UUID(event_id)] = stored
            self[UUID(event_id)] = stored
        return len(self._prefetched)
