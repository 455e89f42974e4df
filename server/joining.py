"""Joining and leaving an incident: presence, seats and guests on the way in and out."""

from __future__ import annotations

from warroom.hub.credentials import Credential, CredentialKind
from warroom.hub.hubstate import _new_id
from warroom.hub.rooms import Conn, Room
from warroom.hub.writer import Writer

from warroom.core.access import GuestAdmitted, JoinCode, JoinCodeRevoked, check_guest
from warroom.core.events import Actor, EventBase
from warroom.core.incident import ParticipantJoined, ParticipantLeft, RoleAssigned
from warroom.core.names import confusable_with
from warroom.core.protocol import Error, Join, Joined
from warroom.core.roles import HELD_ROLES, Role
from warroom.core.state import IncidentState


class Joining(Writer):
    """A connection entering and leaving a room, recorded through the writer."""

    def _guest_join_refusal(self, conn: Conn, room: Room, credential: Credential) -> Error | None:
        if room.incident_id != credential.incident_id:
            return Error(
                code="forbidden", message=f"Your join code is for {credential.incident_id} only."
            )
        code = _live_code(room, credential)
        if code is None:
            return Error(code="forbidden", message="Your join code was revoked.")
        refusal = check_guest(room.state, code, conn.name, conn.seat)
        return Error(code=refusal.code, message=refusal.message) if refusal else None

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
        room = self.rooms.get(msg.incident)
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
        credential = self.credential_of(conn)
        if credential.guest:
            refusal = self._guest_join_refusal(conn, room, credential)
            if refusal is not None:
                self.send_direct(conn, refusal)
                return
        if conn.room is room:
            # Already joined here: replay from ``since`` again, record nothing (and keep the
            # presence it joined with), so re-sending join can never make the hub write.
            self._resync(conn, room, msg.since)
            return
        # A name proven by a personal token is never kept out by a look-alike that got in
        # first (before the person was registered, look-alikes of them were not refused yet).
        proven = credential.kind == CredentialKind.PERSON
        lookalike = None if proven else _lookalike_in(room.state, conn.name, credential.guest)
        if lookalike is not None:
            self.send_direct(
                conn,
                Error(
                    code="bad_name",
                    message=f"{conn.name!r} looks like {lookalike!r}, who is in this incident; "
                    "join under another name.",
                ),
            )
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
            actor = Actor(name=conn.name, seat=conn.seat)
            if credential.guest and room.state.access.guests.get(conn.name) != credential.name:
                await self.record_by_hub(
                    room.incident_id,
                    GuestAdmitted(id=_new_id(), name=conn.name, code_id=credential.name),
                    actor=actor,
                )
            await self.record_by_hub(
                room.incident_id,
                ParticipantJoined(id=_new_id(), name=conn.name, seat=conn.seat),
                actor=actor,
            )
            # Someone who asks for a vacant seat (scribe, comms, lead, or IC when nobody leads)
            # takes it; an occupied seat makes them a responder until the IC assigns them.
            # The writer takes it only if it is still vacant then, so of two consoles asking at
            # once exactly one gets it; the other is told, and acts as a responder.
            if conn.seat in HELD_ROLES and room.state.holder(conn.seat) is None:
                taken = await self.record_by_hub(
                    room.incident_id,
                    RoleAssigned(id=_new_id(), assigned_role=conn.seat, holder=conn.name),
                    actor=actor,
                    vacant=conn.seat,
                )
                if isinstance(taken, Error) and taken.code == "seat_taken":
                    self.send_direct(conn, _seat_taken(conn.seat, room.state.holder(conn.seat)))
            elif conn.seat in HELD_ROLES and room.state.holder(conn.seat) != conn.name:
                self.send_direct(conn, _seat_taken(conn.seat, room.state.holder(conn.seat)))
        conn.room = room
        room.conns.add(conn)
        self._resync(conn, room, msg.since)

    def _resync(self, conn: Conn, room: Room, since: int) -> None:
        """Answer ``joined`` and replay the log after ``since``, then ``synced``."""
        self.send_direct(conn, Joined(incident=room.incident_id, head=room.head))
        conn.cursor = since
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
                await self.record_by_hub(
                    room.incident_id,
                    ParticipantLeft(id=_new_id(), name=conn.name),
                    actor=Actor(name=conn.name, seat=conn.seat),
                )


def _lookalike_in(state: IncidentState, name: str, guest: bool) -> str | None:
    """A name in the incident that looks like ``name`` without being it.

    A team member is compared with the other members only (guests are marked, and a guest must
    never keep a member out); a guest with everyone.
    """
    if name in state.participants:
        return None  # the same person again, checked when they first joined
    others = (p for p in state.participants if guest or not state.is_guest(p))
    return confusable_with(name, others)


def _seat_taken(seat: Role, holder: str | None) -> Error:
    """Told to someone who asked for a held seat that someone else holds."""
    who = holder or "someone else"
    return Error(
        code="seat_taken",
        message=f"The {seat} seat is held by {who}; you joined as a responder. "
        "Ask the IC to assign it to you.",
    )


def _live_code(room: Room, credential: Credential) -> JoinCode | None:
    """The join code a guest entered with, if it still stands in that incident."""
    code = room.state.access.codes.get(credential.name)
    return None if code is None or code.revoked else code
