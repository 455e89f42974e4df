"""Which incidents the hub holds in memory, and how it loads one.

The hub holds what is live: every incident that is not closed is loaded at start; a closed one
is loaded when someone asks for it (a join, an HTTP read, a webhook outcome) and dropped again
once nobody has followed it for ``unload_after`` seconds. Loading starts from the incident's
checkpoint (see ``server/checkpoints.py``) and folds only the events stored after it; of the
frames, only the newest ``tail_frames`` are kept (see ``Room``).

So the hub's start-up time and memory depend on its open incidents, not on its history: the
closed ones cost a row in ``incidents`` (which serves the incident list) until someone opens
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warroom.hub.hubstate import UnreadableIncident
from warroom.hub.rooms import DEFAULT_RECENT_IDS, DEFAULT_TAIL_FRAMES, Conn, Room, event_frame
from warroom.hub.storage import DEFAULT_CHECKPOINT_EVERY, row_event
from warroom.hub.storage_api import LogRead
from warroom.hub.store_thread import StoreThread

from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.phases import Phase
from warroom.core.protocol import lock_change
from warroom.core.state import IncidentState

if TYPE_CHECKING:
    from warroom.hub.hub import Hub

log = logging.getLogger("warroom.hub")

#: Rows read from the log at a time while loading an incident.
READ_BATCH = 2000
#: Seconds a closed room stays in memory after its last use, whatever ``unload_after`` says: a
#: join that has just fetched the room, or a write just queued for it, is never left holding a
#: room that was dropped meanwhile.
MIN_IDLE = 1.0


@dataclass
class MemoryLimits:
    """What the hub keeps in memory (``[memory]`` in the hub's config file)."""

    #: Events of one incident between two checkpoints of its state (0: only on a clean stop
    #: and when it closes).
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    #: Frames of the newest events each loaded incident keeps in memory (a console further
    #: behind is served from the database).
    tail_frames: int = DEFAULT_TAIL_FRAMES
    #: Command ids kept in memory for the idempotency check; older ones are looked up.
    recent_ids: int = DEFAULT_RECENT_IDS
    #: Seconds a closed incident nobody follows stays in memory before it is dropped (at
    #: least :data:`MIN_IDLE`).
    unload_after: float = 60.0


@dataclass
class LoadStats:
    """What loading cost (the start's figures are in ``/healthz`` under ``memory``)."""

    incidents: int = 0
    #: Events folded (after each checkpoint, or all of them without one).
    folded: int = 0
    #: Incidents that started from a checkpoint.
    from_checkpoint: int = 0
    seconds: float = 0.0


def load_room(
    reader: LogRead, incident_id: str, tail_frames: int, stats: LoadStats | None = None
) -> tuple[Room, int]:
    """Read one incident: its checkpoint if usable, the events after it, the newest frames.
    Returns the room and the seq of the checkpoint it started from (0: none)."""
    stats = stats if stats is not None else LoadStats()
    state: IncidentState | None = None
    checkpoint = reader.checkpoint(incident_id)
    if checkpoint is not None:
        state = checkpoint.usable_state(reader.event_id_at(incident_id, checkpoint.seq))
    if state is None:
        state = IncidentState()
    else:
        stats.from_checkpoint += 1
    started_from = state.seq
    head = reader.head_of(incident_id)
    if state.seq > head:  # cannot pass usable_state's check; kept as a guard
        state = IncidentState()
    tail_from = max(0, head - tail_frames) if tail_frames > 0 else 0
    frames: list[str | tuple[Any, ...]] = []
    last = min(state.seq, tail_from)
    try:
        # Up to ``head`` only: on a shared database another hub may append meanwhile (#22);
        # what comes after is caught up like any other hub's events.
        while last < head:
            rows = reader.event_rows(incident_id, last, min(READ_BATCH, head - last))
            if not rows:
                break
            for row in rows:
                seq = int(row[1])
                folded = seq > state.seq
                if folded:
                    event = row_event(row)
                    before, state = state, apply(state, event)
                    stats.folded += 1
                if seq > tail_from and folded:
                    # Folded here, so its frame can carry the lock it changed (protocol 2).
                    frames.append(event_frame(event, lock_change(before.lock, state.lock)))
                elif seq > tail_from:
                    json.loads(row[7])  # not parsed here: at least check its payload is JSON
                    frames.append(tuple(row))  # made into a frame when first sent
                last = seq
    except Exception as exc:
        raise UnreadableIncident(f"the event after seq {last} cannot be read: {exc}") from exc
    if state.seq != head or len(frames) != head - tail_from:
        raise UnreadableIncident(f"its log has a gap before seq {head}")
    stats.incidents += 1
    room = Room(
        incident_id=incident_id,
        state=state,
        frames=frames,
        base=tail_from,
        tail_limit=tail_frames,
        used_at=time.monotonic(),
    )
    return room, started_from


@dataclass(eq=False)
class LiveIncidents:
    """The hub's side of loading: which rooms are in memory, loading on demand, unloading."""

    hub: Hub
    limits: MemoryLimits = field(default_factory=MemoryLimits)
    #: What the start cost.
    at_start: LoadStats = field(default_factory=LoadStats)
    #: Loads after the start (closed incidents opened on demand), and rooms dropped since.
    on_demand: LoadStats = field(default_factory=LoadStats)
    unloaded: int = 0
    _loading: dict[str, asyncio.Future[Room | None]] = field(default_factory=dict)
    #: Incidents whose events the writer is storing right now: never dropped meanwhile.
    _writing: set[str] = field(default_factory=set)
    _sweeper: asyncio.Task[None] | None = None
    #: The thread the writer's commits run on (one at a time, in order).
    _store_thread: StoreThread = field(default_factory=StoreThread)

    # --- start and stop -----------------------------------------------------------------------
    def load_live(self) -> None:
        """Load every incident that is not closed (at start; reads only)."""
        began = time.perf_counter()
        store = self.hub.store
        for incident_id in store.live_incident_ids():
            self._install(incident_id, self.at_start)
        self.at_start.seconds = time.perf_counter() - began
        log.info(
            "loaded %d open incidents in %.2f s: %d from checkpoints, %d events folded",
            self.at_start.incidents,
            self.at_start.seconds,
            self.at_start.from_checkpoint,
            self.at_start.folded,
        )

    def start(self, interval: float | None = None) -> None:
        """Start dropping closed incidents nobody follows (every few seconds)."""
        every = interval or min(5.0, max(0.05, self.limits.unload_after / 4))
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_every(every))

    async def stop(self) -> None:
        """Stop sweeping and checkpoint every loaded incident (a clean stop)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        self._store_thread.close()  # a commit still under way finishes first
        self.checkpoint_all()

    def checkpoint_all(self) -> int:
        try:
            written = self.hub.store.write_checkpoints(r.state for r in self.hub.rooms.values())
        except Exception:  # a checkpoint is a cache: failing to write one loses nothing
            log.exception("could not write checkpoints on stop")
            return 0
        if written:
            log.info("wrote %d checkpoints on stop", written)
        return written

    async def append(
        self,
        events: list[EventBase],
        states: list[IncidentState],
        rewrites: Sequence[EventBase] = (),
    ) -> None:
        """The writer's group commit (``Store.append`` on the store's thread), during which the
        incidents it writes to are never dropped from memory; ``rewrites``: see Store.append."""
        self._writing = {e.incident_id for e in events}
        try:
            await self._store_thread.run(self.hub.store.append, events, states, rewrites)
        finally:
            self._writing = set()

    # --- finding a room -----------------------------------------------------------------------
    def _install(self, incident_id: str, stats: LoadStats) -> Room | None:
        try:
            room, checkpoint = load_room(
                self.hub.store.reader, incident_id, self.limits.tail_frames, stats
            )
        except Exception as exc:  # one unreadable incident must not stop the others
            self.hub._set_aside(incident_id, exc)
            return None
        self.hub.rooms[incident_id] = room
        self.hub.store.checkpointed[incident_id] = checkpoint
        return room

    def new_room(self, incident_id: str, state: IncidentState) -> Room:
        """The room of an incident being declared."""
        return Room(
            incident_id=incident_id,
            state=state,
            tail_limit=self.limits.tail_frames,
            used_at=time.monotonic(),
        )

    def exists(self, incident_id: str) -> bool:
        """Whether an incident of that id is stored (loaded or not, readable or not)."""
        return (
            incident_id in self.hub.rooms
            or incident_id in self.hub.set_aside
            or self.hub.store.reader.has_incident(incident_id)
        )

    def room_now(self, incident_id: str) -> Room | None:
        """The room of ``incident_id``, loaded now if it is stored but not in memory (blocks the
        caller while it reads: for synchronous callers such as authentication)."""
        room = self.hub.rooms.get(incident_id)
        if room is None and incident_id not in self.hub.set_aside:
            if not self.hub.store.reader.has_incident(incident_id):
                return None
            room = self._install(incident_id, self.on_demand)
            if room is not None:
                self._spawn_presence_check(room)
        if room is not None:
            room.used_at = time.monotonic()
        return room

    async def room(self, incident_id: str) -> Room | None:
        """The room of ``incident_id``, loaded (off the event loop) if it is not in memory."""
        room = self.hub.rooms.get(incident_id)
        if room is None and incident_id not in self.hub.set_aside:
            pending = self._loading.get(incident_id)
            if pending is None:
                pending = asyncio.get_running_loop().create_future()
                self._loading[incident_id] = pending
                try:
                    room = await self._load_off_loop(incident_id)
                    pending.set_result(room)
                except BaseException as exc:
                    pending.set_exception(exc)
                    raise
                finally:
                    self._loading.pop(incident_id, None)
                if room is not None:
                    await self._record_departures(room)
            else:
                room = await asyncio.shield(pending)
        if room is not None:
            room.used_at = time.monotonic()
        return room

    async def _load_off_loop(self, incident_id: str) -> Room | None:
        reader = self.hub.store.reader
        if not await asyncio.to_thread(reader.has_incident, incident_id):
            return None
        stats = LoadStats()
        try:
            loaded, checkpoint = await asyncio.to_thread(
                load_room, reader, incident_id, self.limits.tail_frames, stats
            )
        except Exception as exc:
            self.hub._set_aside(incident_id, exc)
            return None
        # Loaded meanwhile by a synchronous caller: that room is the one events go to.
        existing = self.hub.rooms.get(incident_id)
        if existing is not None:
            return existing
        self.on_demand.incidents += stats.incidents
        self.on_demand.folded += stats.folded
        self.on_demand.from_checkpoint += stats.from_checkpoint
        self.hub.rooms[incident_id] = loaded
        self.hub.store.checkpointed[incident_id] = checkpoint
        return loaded

    def _spawn_presence_check(self, room: Room) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to record
            asyncio.get_running_loop().create_task(self._record_departures(room))

    async def _record_departures(self, room: Room) -> None:
        """Anyone a loaded incident still shows online without a connection left when the hub
        stopped or crashed: record it, as the start does for the open incidents."""
        ghosts = [
            n for n, p in room.state.participants.items() if p.online and not room.online.get(n)
        ]
        if ghosts and not self.hub._closing:
            await self.hub.reconcile_presence()

    # --- serving frames older than a room's tail -----------------------------------------------
    async def send_stored(self, conn: Conn, room: Room, page: int = 500) -> bool:
        """Send ``conn`` the next frames after its cursor that are no longer in memory, read
        from storage (a console resuming or catching up from further back than the tail).
        False if there is nothing to send (the sender then waits)."""
        start = conn.cursor
        upto = min(room.head, start + page)
        try:
            events = await asyncio.to_thread(
                self.hub.store.reader.events_between, room.incident_id, start, upto
            )
        except Exception:
            log.exception("cannot read events %d-%d of %s", start + 1, upto, room.incident_id)
            self.hub._drop(conn, 1011, "the hub cannot read this incident's record")
            return False
        if conn.cursor != start or conn.room is not room:
            return True  # re-joined meanwhile: start again from its new cursor
        if not events:
            log.error(
                "events %d-%d of %s are missing from storage", start + 1, upto, room.incident_id
            )
            return False
        for event in events:
            await conn.ws.send(event_frame(event))
            conn.cursor = event.seq
        return True

    # --- dropping closed incidents ------------------------------------------------------------
    def sweep(self, now: float | None = None) -> int:
        """Drop every closed incident nobody follows and nobody used for ``unload_after``
        seconds, at least :data:`MIN_IDLE` (its state is checkpointed first, so it loads again
        without folding). Never one the writer is storing events for, or that has writes
        queued (every path that queues one marks the room used first)."""
        if not self.hub.queue.empty():
            return 0  # a write may be on its way to one of them; next time
        now = time.monotonic() if now is None else now
        idle_for = max(self.limits.unload_after, MIN_IDLE)
        idle = [
            room
            for room in self.hub.rooms.values()
            if room.state.phase == Phase.CLOSED
            and not room.conns
            and not room.online
            and room.incident_id not in self._loading
            and room.incident_id not in self._writing
            and now - room.used_at >= idle_for
        ]
        if not idle:
            return 0
        try:
            self.hub.store.write_checkpoints(r.state for r in idle)
        except Exception:
            log.exception("could not checkpoint closed incidents; they stay in memory")
            return 0
        for room in idle:
            self.hub.rooms.pop(room.incident_id, None)
        self.unloaded += len(idle)
        return len(idle)

    async def _sweep_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.sweep()
            except Exception:  # the sweeper must outlive its own bugs
                log.exception("unloading closed incidents failed")

    # --- views --------------------------------------------------------------------------------
    def incident_list(self, include_closed: bool = False) -> list[dict[str, Any]]:
        """The incidents as ``GET /incidents`` lists them: loaded ones from memory (with who is
        online), the others from their summary row, without loading them."""
        rows = []
        for room in self.hub.rooms.values():
            s = room.state
            if s.phase == Phase.CLOSED and not include_closed:
                continue
            rows.append(
                {
                    "id": s.incident_id,
                    "title": s.title,
                    "severity": s.severity.value,
                    "phase": s.phase.value,
                    "declared_at": s.declared_at.isoformat() if s.declared_at else None,
                    "detected_at": s.detected_at.isoformat() if s.detected_at else None,
                    "participants": len(s.participants),
                    "online": len(room.online),
                    "ic": s.ic,
                    "drill": s.drill,
                    "head": room.head,
                }
            )
        if include_closed:
            for row in self.hub.store.reader.incident_rows(include_closed=True):
                if row["id"] in self.hub.rooms or row["id"] in self.hub.set_aside:
                    continue
                rows.append(
                    {
                        "id": row["id"],
                        "title": row["title"],
                        "severity": row["severity"],
                        "phase": row["phase"],
                        "declared_at": row["declared_at"] or None,
                        "detected_at": row["detected_at"] or None,
                        "participants": int(row["participants"] or 0),
                        "online": 0,  # nobody follows an incident that is not loaded
                        "ic": row["ic"] or None,
                        "drill": bool(row["drill"]),
                        "head": int(row["head"] or 0),
                    }
                )
        rows.sort(key=lambda r: r["declared_at"] or "", reverse=True)
        return rows

    def figures(self) -> dict[str, Any]:
        """What ``/healthz`` says about memory and loading."""
        return {
            "incidents_loaded": len(self.hub.rooms),
            "start_seconds": round(self.at_start.seconds, 3),
            "start_folded": self.at_start.folded,
            "start_from_checkpoint": self.at_start.from_checkpoint,
            "loaded_on_demand": self.on_demand.incidents,
            "unloaded": self.unloaded,
            "recent_ids": len(self.hub.ids),
            "checkpoints_written": self.hub.store.checkpoints_written,
        }
