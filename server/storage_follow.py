"""Several hubs on one database: taking the right to write, and following the other hubs.

On a shared database (PostgreSQL) each batch of the writer starts with :func:`take_batch`: the
store locks every incident the batch writes to (a transaction-scoped advisory lock, so a hub
that dies releases it with its connection) and returns the events other hubs stored since the
heads this hub holds; they are folded in (:func:`absorb`) before the rules run, so a command is
always decided on the latest state and gets the next seq.

Between batches, :class:`Follower` keeps each loaded incident up to date: a ``LISTEN`` connection
wakes it when another hub commits (the notification names the incident and its new head, never
the events), and it reads the events by seq. A notification that is lost (the listening
connection dropped, the hub was busy) is repaired by a read of every incident's head every
``repair_every`` seconds, so a console on one hub sees what was written on another within a
notification's round trip, or within ``repair_every`` at worst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from warroom.hub.hubstate import Decided, Pending
from warroom.hub.rooms import Room, Stored, event_frame
from warroom.hub.storage import row_event

from warroom.core.fold import apply
from warroom.core.protocol import lock_change

if TYPE_CHECKING:
    from warroom.hub.hub import Hub
    from warroom.hub.storage_api import EventStore

log = logging.getLogger("warroom.hub")

#: Rows read at a time while catching an incident up.
CATCH_UP_BATCH = 2000


def incidents_of(batch: Iterable[Pending | Decided]) -> set[str]:
    """The incidents a batch of the writer may write to (a declaration names its own id, or
    gets a fresh random one nobody else can be writing to)."""
    ids = set()
    for item in batch:
        incident_id = item.incident_id if isinstance(item, Decided) else item.draft.incident_id
        if incident_id:
            ids.add(incident_id)
    return ids


async def take_batch(hub: Hub, batch: list[Pending | Decided]) -> None:
    """Wait for the right to write to the batch's incidents, then fold in what other hubs wrote.

    A room loaded while the lock was being taken may have been read before another hub's last
    commit: every room of the batch in memory once the lock is held is caught up, checking
    again after each read (which lets the event loop run) until no new room appeared. Rooms
    loaded after that are read under the lock, so they are current."""
    incidents = incidents_of(batch)
    store = hub.store
    checked: dict[str, Room] = {}
    begun = False
    while True:
        heads = {
            i: hub.rooms[i].head
            for i in incidents
            if i in hub.rooms and checked.get(i) is not hub.rooms[i]
        }
        if begun and not heads:
            return
        checked.update({i: hub.rooms[i] for i in heads})
        caught = await asyncio.to_thread(_lock_and_read, store, incidents, heads, begun)
        begun = True
        for incident_id, rows in caught.items():
            absorb(hub, incident_id, rows)


def _lock_and_read(
    store: EventStore, incidents: set[str], heads: dict[str, int], begun: bool
) -> dict[str, list[tuple[Any, ...]]]:
    """Lock the batch's incidents (the first time) and read what is stored after ``heads``:
    one trip to a worker thread for both."""
    if not begun:
        store.begin_batch(incidents)
    return store.read_after(heads) if heads else {}


async def release_batch(hub: Hub) -> None:
    """End the batch's transaction if :meth:`append` did not (nothing accepted, or a failure)."""
    await asyncio.to_thread(hub.store.end_batch)


def absorb(hub: Hub, incident_id: str, rows: list[tuple[Any, ...]]) -> int:
    """Fold events another hub stored into this hub's room and send them to its consoles.

    Rows this hub already holds are skipped; a row past a gap stops the catch-up (the missing
    ones are read again next time). Returns how many events were taken in."""
    room = hub.rooms.get(incident_id)
    if room is None:
        return 0  # not in memory here: loaded from the database when someone asks for it
    taken = 0
    for row in rows:
        seq = int(row[1])
        if seq <= room.head:
            continue
        if seq != room.head + 1:
            break
        try:
            event = row_event(row)
            before = room.state
            after = apply(before, event)
        except Exception:  # a fold bug: stop here, the next batch reads it again
            log.exception("cannot fold event %d of %s stored by another hub", seq, incident_id)
            break
        room.state = after
        room.append(event_frame(event, lock_change(before.lock, after.lock)))
        hub.ids[event.id] = Stored(event.incident_id, event.seq, event.actor)
        hub._disconnect_revoked(event)  # a join code revoked on another hub ends here too
        taken += 1
    if taken:
        hub._wake(room)
    return taken


class Follower:
    """Keeps this hub's rooms up to date with what other hubs write (see the module doc)."""

    def __init__(self, hub: Hub, url: str, channel: str, repair_every: float = 1.0) -> None:
        self.hub = hub
        self.url = url
        self.channel = channel
        self.repair_every = repair_every
        self._task: asyncio.Task[None] | None = None
        #: Notifications received, and catch-ups the periodic read had to make (lost wake-ups).
        self.notified = 0
        self.repaired = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="warroom-follow")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        import psycopg

        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    await self.repair()  # whatever was written while nobody listened
                    while True:
                        async for note in conn.notifies(timeout=self.repair_every):
                            self.notified += 1
                            await self.follow(note.payload)
                        await self.repair()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarting, a network blip: listen again
                log.warning("following other hubs failed (%s); retrying", exc)
                await asyncio.sleep(self.repair_every)

    async def follow(self, payload: str) -> None:
        """A notification ``<incident>:<head>``: read the events this hub does not hold."""
        incident_id, _, head = payload.rpartition(":")
        room = self.hub.rooms.get(incident_id)
        if room is None or not head.isdigit() or int(head) <= room.head:
            return  # not followed here, or written by this hub
        await self.catch_up(incident_id)

    async def catch_up(self, incident_id: str) -> int:
        """Read and fold in the events of ``incident_id`` after this hub's head. Never while
        the writer is in a batch (it catches up itself, and its frames must not be doubled)."""
        reader = self.hub.store.reader
        taken = 0
        async with self.hub.write_turn:
            while (room := self.hub.rooms.get(incident_id)) is not None:
                rows = await asyncio.to_thread(
                    reader.event_rows, incident_id, room.head, CATCH_UP_BATCH
                )
                got = absorb(self.hub, incident_id, rows)
                taken += got
                if len(rows) < CATCH_UP_BATCH or not got:
                    break
        return taken

    async def repair(self) -> None:
        """Compare every open incident's stored head with this hub's: catch up what is behind,
        load what another hub declared (so this hub lists it and serves it at once)."""
        rows = await asyncio.to_thread(self.hub.store.reader.incident_rows, False)
        for row in rows:
            incident_id, head = str(row["id"]), int(row["head"] or 0)
            if incident_id in self.hub.set_aside:
                continue
            room = self.hub.rooms.get(incident_id)
            if room is None:
                await self.hub.live.room(incident_id)
            elif head > room.head and await self.catch_up(incident_id):
                self.repaired += 1
        for incident_id, room in list(self.hub.rooms.items()):  # closed ones still followed
            if room.conns and room.state.phase.value == "closed":
                head = await asyncio.to_thread(self.hub.store.reader.head_of, incident_id)
                if head > room.head:
                    await self.catch_up(incident_id)


def follower_for(hub: Hub, db: object) -> Follower | None:
    """The follower a hub on ``db`` needs: one on a shared (PostgreSQL) database, else none."""
    from warroom.hub.storage_api import is_postgres

    if not is_postgres(str(db)):
        return None
    from warroom.hub.storage_pg import CHANNEL

    return Follower(hub, str(db), CHANNEL)
