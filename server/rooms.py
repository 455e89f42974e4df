"""In-memory view of each incident and each connection, kept in step with the stored log."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from uuid import UUID

from websockets.asyncio.server import ServerConnection

from warroom.core.roles import Role
from warroom.core.state import IncidentState


@dataclass(eq=False)
class Room:
    """One incident: its folded state, its log as ready-to-send frames, and who follows it.

    Keeping the log as serialised frames means a broadcast serialises each event once, and a
    resuming console is served from memory by index, with no per-client copy of the events.
    """

    incident_id: str
    state: IncidentState
    log: list[str] = field(default_factory=list)
    conns: set[Conn] = field(default_factory=set)
    #: Open connections per participant name; joined/left is recorded on 0 <-> 1.
    online: dict[str, int] = field(default_factory=dict)

    @property
    def head(self) -> int:
        return len(self.log)

    def frames_after(self, seq: int) -> list[str] | None:
        """The frames of the events after ``seq``, or ``None`` when the hub no longer holds all
        of them in memory (the caller then serves a snapshot or reads storage)."""
        if seq < 0 or seq > self.head:
            return None
        return self.log[seq:]


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


IdIndex = dict[UUID, Stored]
