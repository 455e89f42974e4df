"""Joining and leaving an incident: presence, seats and guests on the way in and out."""

from __future__ import annotations

import functools

from warroom.hub.credentials import CredentialKind
from warroom.hub.rooms import Conn, Room
from warroom.hub.snapshots import plan_join
from warroom.hub.writer import Writer

from warroom.core.access import JoinCodeRevoked
from warroom.core.admission import Admission, Entrant, arrival, departure, join_refusal
from warroom.core.events import Actor, EventBase
from warroom.core.protocol import Error, Join, Joined


class Joining(Writer):
    """A connection entering and leaving a room, recorded through the writer."""

    def _disconnect_revoked(self, event: EventBase) -> None:
        """After a join code is revoked, nobody who entered with it stays connected."""
        if not isinstance(event, JoinCodeRevoked):
            return
        code_id = event.code_id
        for conn in list(self.conns):
            credential = self.credential_of(conn)
            if (
                credential.guest
                and credential.incident_id == event.incident_id
                and credential.name == code_id
            ):
                self._drop(conn, 1008, "your join code was revoked")

    async def _join(self, conn: Conn, msg: Join) -> None:
        room = await self.live.room(msg.incident)  # a closed incident is loaded on demand
        if room is None and msg.incident in self.set_aside:
            self.send_direct(
                conn, Error(code="unavailable", message=self._unavailable(msg.incident))
            )
            return
        if room is None:
            self.send_direct(
                conn,
                Error(
                    code="unknown_incident", message=f"No incident {msg.incident!r} on this hub."
                ),
            )
            return
        if msg.since > room.head:
            self.send_direct(
                conn,
                Error(
                    code="ahead_of_hub",
                    message=f"You have seq {msg.since} but this hub's incident ends at {room.head}; "
                    "join with since=0 to start over.",
                ),
            )
            return
        entrant = self._entrant(conn)
        refusal = join_refusal(room.state, entrant, rejoining=conn.room is room)
        if refusal is not None:
            self.send_direct(conn, Error(code=refusal.code, message=refusal.message))
            return
        if conn.room is room:
            # Already joined here: ``joined`` and ``synced`` at its cursor, nothing replayed and
            # nothing recorded (it keeps its presence), so re-sending join never makes the hub write.
            self.send_direct(conn, Joined(incident=room.incident_id, head=room.head))
            conn.synced_pending = True
            conn.wake.set()
            return
        if conn.room is not None:
            await self._leave(conn)
        # Presence is recorded before the replay starts, so a console that is synced has
        # already seen its own arrival (and any seat it took).
        conn.reader_only = not msg.presence
        first = False
        if not conn.reader_only:
            room.online[conn.name] = room.online.get(conn.name, 0) + 1
            first = room.online[conn.name] == 1
        if first:
            # The core decides the arrival (admission, presence, a vacant seat taken) against
            # the state at write time, and the writer stores it in one batch: of two consoles
            # asking for one seat at once exactly one gets it; the other is told, and acts as
            # a responder.
            admitted = await self.record_decided(
                room.incident_id,
                functools.partial(arrival, entrant=entrant),
                actor=Actor(name=conn.name, seat=conn.seat),
            )
            if isinstance(admitted, Admission) and admitted.notice is not None:
                notice = admitted.notice
                self.send_direct(conn, Error(code=notice.code, message=notice.message))
        conn.room = room
        room.conns.add(conn)
        self._resync(conn, room, msg.since)

    def _entrant(self, conn: Conn) -> Entrant:
        """Who ``conn`` comes in as, with what its credential proves."""
        credential = self.credential_of(conn)
        return Entrant(
            name=conn.name,
            seat=conn.seat,
            guest=credential.guest,
            code_id=credential.name if credential.guest else "",
            code_incident=credential.incident_id if credential.guest else "",
            proven=credential.kind == CredentialKind.PERSON,
        )

    def _resync(self, conn: Conn, room: Room, since: int) -> None:
        """Answer ``joined``, then the events missed since ``since`` or a snapshot and the
        tail (see ``server/snapshots.py``), then ``synced``."""
        self.send_direct(conn, Joined(incident=room.incident_id, head=room.head))
        plan = plan_join(room, since)
        if plan.snapshot is not None:
            self.send_direct(conn, plan.snapshot)
        conn.cursor = plan.cursor
        conn.synced_pending = True
        conn.wake.set()

    async def _leave(self, conn: Conn) -> None:
        room = conn.room
        if room is None:
            return
        conn.room = None
        room.conns.discard(conn)
        if conn.reader_only:
            return
        room.online[conn.name] = room.online.get(conn.name, 1) - 1
        if room.online[conn.name] <= 0:
            room.online.pop(conn.name, None)
            if not self._closing:
                await self.record_decided(
                    room.incident_id,
                    functools.partial(departure, name=conn.name),
                    actor=Actor(name=conn.name, seat=conn.seat),
                )
