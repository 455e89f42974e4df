"""The hub: validates each command, stores it durably, then acknowledges and broadcasts it.

All writes go through one writer task. It takes every command waiting in its queue, checks each
against the core's rules in order, writes the accepted ones in a single SQLite transaction (a
group commit), and only then acknowledges them and wakes the connections that follow each
incident. Refused commands get an error and leave no trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import secrets
import struct
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from warroom.hub.credentials import OPEN, Credential, CredentialKind
from warroom.hub.history import answer_history
from warroom.hub.limits import TokenBucket, slow_down_message
from warroom.hub.rooms import Conn, IdIndex, Room, Stored
from warroom.hub.snapshots import plan_join
from warroom.hub.storage import Store
from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from warroom import __version__
from warroom.core import timers
from warroom.core.access import GuestAdmitted, JoinCode, check_guest
from warroom.core.clock import Clock, utc_now
from warroom.core.events import STAMPED_FIELDS, Actor, EventBase, Refusal, refuse
from warroom.core.fold import apply
from warroom.core.incident import ParticipantJoined, ParticipantLeft, RoleAssigned
from warroom.core.log import EventError, parse_event
from warroom.core.names import BadName, check_name, confusable_with, valid_incident_id
from warroom.core.protocol import (
    Ack,
    Command,
    Error,
    Hello,
    History,
    Join,
    Joined,
    Ping,
    Pong,
    ProtocolError,
    Synced,
    Welcome,
    load_json,
    parse_client_message,
)
from warroom.core.roles import HELD_ROLES, HUB_ACTOR, Role
from warroom.core.rules import check_command
from warroom.core.settings import HubSettings
from warroom.core.state import IncidentState

log = logging.getLogger("warroom.hub")

#: Most commands taken into one transaction.
MAX_BATCH = 512
#: Most new frames written straight to a caught-up console without waking its sender.
FAST_PATH_MAX = 16
#: Frames a sender writes in one go before it lets other tasks run.
SENDER_BURST = 256
#: Bytes waiting in a console's socket above which it is served by its sender instead.
FAST_PATH_BUFFER = 64 * 1024
#: Seconds a dropped console has to finish the closing handshake before its socket is cut.
DROP_GRACE = 5.0
#: ioctl for the bytes in a socket's kernel send queue (Linux); None where there is none.
_OUTQ: int | None = getattr(termios, "TIOCOUTQ", None) if sys.platform == "linux" else None


class UnreadableIncident(Exception):
    """An incident whose stored log cannot be read or folded."""


@dataclass(eq=False)
class Pending:
    """A draft event waiting for the writer, with whom to answer."""

    draft: EventBase
    actor: Actor
    conn: Conn | None = None
    #: Hub-made events skip the client rules (the hub is the authority on its own events).
    by_hub: bool = False
    #: A seat taken on joining: recorded only if the seat is still vacant when it is written.
    vacant: Role | None = None
    done: asyncio.Future[Ack | Error] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class HubLimits:
    """Bounds that keep one console from hurting the others."""

    #: Direct replies (acks, errors) waiting for one console before it is cut off.
    direct_queue: int = 1000
    #: Events a live console may fall behind before it is disconnected (it resumes on reconnect).
    max_lag: int = 20_000
    #: Messages a second one connection may send on average (0: no limit), and the burst it may
    #: send at once (an outbox flushed after an outage). Beyond that it is read at the rate.
    rate: float = 50.0
    burst: int = 200
    #: Connections one name may hold open at once (a console, a second screen, a script).
    per_name: int = 8
    #: Seconds a connection may stay open without a ``hello`` before it is closed.
    hello_timeout: float = 10.0
    #: Messages a second that all the connections of one credential (a token, a join code, the
    #: open hub) may send together, and their burst (0: no limit). Twenty connections from one
    #: script are read no faster than one budget allows.
    credential_rate: float = 100.0
    credential_burst: int = 200
    #: Open connections one join code may hold, and one token (or the open hub).
    per_code: int = 100
    per_token: int = 500
    #: Seconds a console may leave its socket full (reading nothing) before it is cut off.
    stall_timeout: float = 30.0


class Hub:
    """The authority for every incident on this hub."""

    def __init__(
        self,
        store: Store,
        settings: HubSettings | None = None,
        clock: Clock = utc_now,
        limits: HubLimits | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or HubSettings()
        self.clock = clock
        self.limits = limits or HubLimits()
        self.rooms: dict[str, Room] = {}
        self.ids: IdIndex = {}
        self.queue: asyncio.Queue[Pending] = asyncio.Queue()
        self.conns: set[Conn] = set()
        self.refused = 0
        #: Flood episodes slowed to the per-connection rate.
        self.throttled = 0
        #: Refused commands by (incident, event type, error code): counted, never stored.
        self.refusals: dict[tuple[str, str, str], int] = {}
        self.accepted = 0
        #: Incidents whose stored log could not be read, with why: not served (see /healthz).
        self.set_aside: dict[str, str] = {}
        #: Failed group commits (e.g. a full disk): their senders were answered ``internal``.
        self.write_failures = 0
        self._loaded = False
        #: Seconds between attempts to repair presence after a failed write.
        self.retry_interval = 1.0
        self._presence_repair: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        #: Called with each event once it is stored (features hook side effects here, such as
        #: webhook delivery); a hook must not block: it schedules its work and returns.
        self.after_store: list[Callable[[EventBase], None]] = []
        #: What each connection was let in with (filled in by the server's handshake check).
        self.credentials: WeakKeyDictionary[Any, Credential] = WeakKeyDictionary()
        #: Names of the registered people (``warroom people``); set by the server.
        self.registered: Callable[[], set[str]] = set
        #: Open connections and the shared message budget of each credential (token, join code).
        self.open_by_credential: dict[Credential, int] = {}
        self.budgets: dict[Credential, TokenBucket] = {}
        self._budget_turns: dict[Credential, asyncio.Lock] = {}
        self.after_store.append(self._disconnect_revoked)

    # --- life cycle ---------------------------------------------------------------------------
    async def load(self) -> None:
        """Read every incident from the store (reads only; nothing is written)."""
        if not self._loaded:
            await asyncio.to_thread(self._load)
            self._loaded = True

    async def start(self) -> None:
        """Load every incident from the store (if not done yet), then start writing."""
        await self.load()
        self._writer = asyncio.create_task(self._write_loop(), name="warroom-writer")
        # Nobody is connected to a hub that just started: record that for anyone still shown
        # online (the hub stopped or crashed while they were connected).
        for room in list(self.rooms.values()):
            for name in [n for n, p in room.state.participants.items() if p.online]:
                await self.record_by_hub(
                    room.incident_id,
                    ParticipantLeft(id=_new_id(), name=name),
                    actor=Actor(name=name),
                )

    def _load(self) -> None:
        for incident_id in self.store.incident_ids():
            try:
                self.rooms[incident_id] = self._load_room(incident_id)
            except Exception as exc:  # one unreadable incident must not stop the others
                self._set_aside(incident_id, exc)

    def _load_room(self, incident_id: str) -> Room:
        state = IncidentState()
        room = Room(incident_id=incident_id, state=state)
        ids: IdIndex = {}
        seq = 0
        try:
            for event in self.store.events(incident_id):
                seq = event.seq
                state = apply(state, event)
                room.log.append(event_frame(event))
                ids[event.id] = Stored(incident_id, event.seq, event.actor)
        except Exception as exc:
            raise UnreadableIncident(f"the event after seq {seq} cannot be read: {exc}") from exc
        room.state = state
        self.ids.update(ids)
        return room

    def _set_aside(self, incident_id: str, exc: Exception) -> None:
        """Keep an incident whose log cannot be read out of service, and say so (log, /healthz).

        Its rows stay untouched in the database for someone to repair; its id and its event ids
        stay taken, so nothing new can collide with them.
        """
        reason = " ".join(str(exc).split())[:300]
        self.set_aside[incident_id] = reason
        log.error(
            "incident %s set aside: %s; every other incident is served. Repair or remove its "
            "rows in %s and restart the hub.",
            incident_id,
            reason,
            self.store.path,
        )
        try:
            for event_id, seq in self.store.event_ids(incident_id):
                with contextlib.suppress(ValueError):
                    self.ids[UUID(event_id)] = Stored(incident_id, seq)
        except Exception:  # the ids are a safeguard; the database will refuse a clash anyway
            log.warning("could not read the event ids of set-aside incident %s", incident_id)

    async def stop(self) -> None:
        """Finish the writes in flight, then stop. Connections are closed by the server."""
        self._closing = True
        if self._presence_repair is not None:
            self._presence_repair.cancel()
        if self._writer is not None:
            while not self.queue.empty():
                await asyncio.sleep(0.01)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    # --- timers -------------------------------------------------------------------------------
    async def tick(self) -> int:
        """Record every time-driven event now due (by the hub's clock). Returns how many."""
        recorded = 0
        now = self.clock()
        for room in list(self.rooms.values()):
            # Each timer rule on its own: one whose event is refused (or whose code fails) is
            # set aside until the next tick and never holds up the other timers of the incident.
            for rule in timers.TIMERS:
                for _ in range(50):
                    try:
                        drafts = timers.due_from(rule, room.state, now)
                    except Exception:
                        log.exception("timer %s failed", getattr(rule, "__name__", rule))
                        break
                    if not drafts:
                        break
                    reply = await self.record_by_hub(room.incident_id, drafts[0])
                    if isinstance(reply, Error):
                        log.error("timer event refused: %s", reply.message)
                        break
                    if reply.duplicate:
                        break
                    recorded += 1
        return recorded

    async def run_timers(self, interval: float = 1.0) -> None:
        while not self._closing:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except Exception:  # a timer bug must not take the hub down
                log.exception("timer tick failed")

    async def run_watchdog(self, interval: float | None = None) -> None:
        """Cut off consoles that stopped reading (see :meth:`check_stalled`)."""
        every = interval or min(1.0, max(0.05, self.limits.stall_timeout / 4))
        while not self._closing:
            await asyncio.sleep(every)
            try:
                self.check_stalled()
            except Exception:  # the watchdog must outlive its own bugs
                log.exception("stall check failed")

    def check_stalled(self) -> None:
        """Abort every connection whose socket has stayed full for ``stall_timeout`` seconds.

        A console that stops reading fills its socket; the hub's writes to it then wait, and so
        do the websocket keepalive pings (queued behind the data, so they never time out). It
        stays connected and present, which for the IC blocks every claim. Whether a socket makes
        progress is what the transport already knows: it pauses writing above its high-water
        mark and resumes once the peer has read enough. While it is paused the hub adds nothing
        to it, so bytes still unsent (in the transport and in the kernel's send queue) that
        shrink mean the peer is reading, however slowly. Paused with nothing sent for
        ``stall_timeout`` means the peer reads nothing: the TCP connection is cut (a close frame
        could never reach it), its handler ends, and its departure is recorded.
        """
        if self.limits.stall_timeout <= 0:
            return
        now = time.monotonic()
        for conn in list(self.conns):
            if not getattr(conn.ws, "paused", False):
                conn.stalled_since, conn.stall_buffer = None, 0
                continue
            size = _unsent_bytes(conn.ws)
            shrank = size < conn.stall_buffer
            conn.stall_buffer = size
            if shrank:
                conn.stalled_since = None
            if conn.stalled_since is None:
                conn.stalled_since = now
            elif now - conn.stalled_since >= self.limits.stall_timeout:
                log.warning(
                    "cut off %r: read nothing for %.0f s with its socket full",
                    conn.name or "(no hello)",
                    now - conn.stalled_since,
                )
                conn.closing = True
                conn.wake.set()
                abort_if_open(conn.ws)

    # --- recording ----------------------------------------------------------------------------
    async def record_by_hub(
        self,
        incident_id: str,
        draft: EventBase,
        actor: Actor | None = None,
        vacant: Role | None = None,
    ) -> Ack | Error:
        """Record an event the hub itself decided on (presence, timers)."""
        draft = draft.model_copy(update={"incident_id": incident_id})
        item = Pending(
            draft=draft,
            actor=actor or Actor(name=HUB_ACTOR, seat=Role.HUB),
            by_hub=True,
            vacant=vacant,
        )
        await self.queue.put(item)
        return await item.done

    async def _write_loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._write_batch(batch)
            except Exception as exc:
                log.exception("write batch failed")
                self._write_failed(batch, exc)

    def _write_failed(self, batch: list[Pending], exc: BaseException) -> None:
        """Answer every sender of a batch that could not be stored, and repair presence later.

        Nothing of the batch reached memory (state, log, ids), so the hub serves exactly what is
        stored; each sender is told ``internal`` and may retry with the same id.
        """
        self.write_failures += 1
        log.error(
            "could not store %d commands (%s); each sender was answered 'internal'. The hub "
            "keeps serving and retries presence until writes succeed again.",
            len(batch),
            " ".join(str(exc).split())[:200] or type(exc).__name__,
        )
        for item in batch:
            if item.done.done():
                continue
            reply = Error(
                code="internal",
                message="The hub could not store this; nothing was written. Try again.",
                id=item.draft.id,
            )
            self.refused += 1
            if item.conn is not None:
                self.send_direct(item.conn, reply)
            item.done.set_result(reply)
        if self._presence_repair is None or self._presence_repair.done():
            self._presence_repair = asyncio.create_task(self._repair_presence())

    async def _repair_presence(self) -> None:
        """After failed writes: record joins and departures that were lost, once writes work."""
        delay = self.retry_interval
        while not self._closing:
            await asyncio.sleep(delay)
            if await self.reconcile_presence():
                return
            delay = min(delay * 2, 30.0)  # a disk that stays full is not retried every second

    async def reconcile_presence(self) -> bool:
        """Make every incident show online exactly who is connected to it. True once done."""
        for room in list(self.rooms.values()):
            shown = {n for n, p in room.state.participants.items() if p.online}
            for name in sorted(set(room.online) | shown):
                connected = room.online.get(name, 0) > 0
                if connected == (
                    name in room.state.participants and room.state.participants[name].online
                ):
                    continue  # re-checked per name: joins and leaves go on meanwhile
                seat = next((c.seat for c in room.conns if c.name == name), Role.RESPONDER)
                draft: EventBase = (
                    ParticipantJoined(id=_new_id(), name=name, seat=seat)
                    if connected
                    else ParticipantLeft(id=_new_id(), name=name)
                )
                reply = await self.record_by_hub(
                    room.incident_id, draft, actor=Actor(name=name, seat=seat)
                )
                if isinstance(reply, Error):
                    return False
        return True

    async def _write_batch(self, batch: list[Pending]) -> None:
        tentative: dict[str, IncidentState] = {}
        new_rooms: dict[str, Room] = {}
        accepted: list[tuple[Pending, EventBase]] = []
        in_batch: IdIndex = {}
        replies: list[tuple[Pending, Ack | Error]] = []
        now = self.clock()

        for item in batch:
            outcome = self._admit(item, now, tentative, new_rooms, in_batch)
            if isinstance(outcome, EventBase):
                accepted.append((item, outcome))
                in_batch[outcome.id] = Stored(outcome.incident_id, outcome.seq, outcome.actor)
                replies.append(
                    (item, Ack(id=outcome.id, incident=outcome.incident_id, seq=outcome.seq))
                )
            else:
                replies.append((item, outcome))

        if accepted:
            events = [e for _, e in accepted]
            try:
                await asyncio.to_thread(self.store.append, events, list(tentative.values()))
            except Exception as exc:  # a full disk, an I/O error: answered, then retried
                self._write_failed(batch, exc)
                return
            self.rooms.update(new_rooms)
            touched: set[Room] = set()
            for _, event in accepted:
                room = self.rooms[event.incident_id]
                room.log.append(event_frame(event))
                self.ids[event.id] = Stored(event.incident_id, event.seq, event.actor)
                touched.add(room)
            for incident_id, state in tentative.items():
                self.rooms[incident_id].state = state
            for room in touched:
                self._wake(room)
            self.accepted += len(accepted)
            for _, event in accepted:
                self._run_after_store(event)

        for item, reply in replies:
            if isinstance(reply, Error):
                self.refused += 1
                key = (item.draft.incident_id, item.draft.type, reply.code)
                self.refusals[key] = self.refusals.get(key, 0) + 1
            if item.conn is not None:
                self.send_direct(item.conn, reply)
            if not item.done.done():
                item.done.set_result(reply)

    def _run_after_store(self, event: EventBase) -> None:
        for hook in self.after_store:
            try:
                hook(event)
            except Exception:  # a side effect must never fail a stored write
                log.exception("after_store hook failed for %s", event.type)

    def _admit(
        self,
        item: Pending,
        now: datetime,
        tentative: dict[str, IncidentState],
        new_rooms: dict[str, Room],
        in_batch: IdIndex,
    ) -> EventBase | Error:
        """Decide one command against the state as it will be after the earlier ones."""
        draft = item.draft
        # Idempotency, checked only once the connection was let speak in this incident (see
        # ``_command``): a retry of one's own stored command is acknowledged again; an id stored
        # by someone else, or in another incident, is refused without saying where it is.
        stored = self.ids.get(draft.id) or in_batch.get(draft.id)
        if stored is not None and item.by_hub and stored.actor != HUB_ACTOR:
            # Only in a record made before client ids were kept apart from the hub's: the
            # hub's event takes a fresh id rather than being mistaken for the client's.
            draft = draft.model_copy(update={"id": _new_id()})
            stored = None
        if stored is not None:
            same_incident = stored.incident_id == draft.incident_id or (
                draft.type == "incident_declared" and not draft.incident_id
            )
            if not same_incident or stored.actor != item.actor.name:
                return _error(
                    refuse("id_taken", "This id is already used by another event; send the "
                           "command with a fresh id."),
                    draft,
                )  # fmt: skip
            return Ack(id=draft.id, incident=stored.incident_id, seq=stored.seq, duplicate=True)  # type: ignore[return-value]

        if draft.type == "incident_declared":
            incident_id = draft.incident_id or self._new_incident_id()
            if (
                incident_id in self.rooms
                or incident_id in new_rooms
                or incident_id in self.set_aside
            ):
                return _error(
                    refuse("already_declared", f"Incident {incident_id} already exists."), draft
                )
            if not valid_incident_id(incident_id):
                return _error(
                    refuse("invalid", "An incident id is 3-40 ASCII letters, digits or '-'."),
                    draft,
                )
            state = IncidentState()
            draft = draft.model_copy(update={"incident_id": incident_id})
        else:
            room = self.rooms.get(draft.incident_id) or new_rooms.get(draft.incident_id)
            if room is None and draft.incident_id in self.set_aside:
                return _error(refuse("unavailable", self._unavailable(draft.incident_id)), draft)
            if room is None:
                return _error(
                    refuse("unknown_incident", f"No incident {draft.incident_id!r} on this hub."),
                    draft,
                )
            state = tentative.get(draft.incident_id, room.state)

        if item.vacant is not None and state.holder(item.vacant) is not None:
            return _error(
                refuse("seat_taken", f"{state.holder(item.vacant)} took it first."), draft
            )
        if not item.by_hub:
            refusal = check_command(state, draft, item.actor, now)
            if refusal is not None:
                return _error(refusal, draft)

        at = (
            now
            if state.last_event_at is None or now >= state.last_event_at
            else state.last_event_at
        )
        role = (
            Role.HUB
            if item.actor.seat == Role.HUB
            else state.role_of(item.actor.name, item.actor.seat)
        )
        if draft.type == "incident_declared":
            role = Role.IC
        event = draft.hub_fill(self.settings).model_copy(
            update={"seq": state.seq + 1, "at": at, "actor": item.actor.name, "role": role}
        )
        try:
            after = apply(state, event)
        except Exception as exc:  # a fold bug must refuse the command, not kill the hub
            log.exception("fold failed for %s", event.type)
            return _error(refuse("internal", f"The hub could not apply this event: {exc}"), draft)
        tentative[event.incident_id] = after
        if draft.type == "incident_declared":
            new_rooms[event.incident_id] = Room(incident_id=event.incident_id, state=state)
        return event

    def _new_incident_id(self) -> str:
        while True:
            candidate = "inc-" + secrets.token_hex(3)
            if candidate not in self.rooms and candidate not in self.set_aside:
                return candidate

    # --- connections --------------------------------------------------------------------------
    def send_direct(self, conn: Conn, message: Any) -> None:
        """Queue a reply (a message, or a frame already serialised) for one console; a console
        that stops reading is cut off."""
        if conn.closing:
            return
        try:
            conn.direct.put_nowait(
                message if isinstance(message, str) else message.model_dump_json()
            )
        except asyncio.QueueFull:
            self._drop(conn, 1008, "too many unread replies; reconnect to resume")
            return
        conn.wake.set()

    def _wake(self, room: Room) -> None:
        """Deliver new events: at once to consoles that are caught up, via their sender to others.

        A caught-up console whose sender is idle and whose socket buffer is nearly empty gets the
        new frames written synchronously (as ``websockets.broadcast`` does), which saves a task
        switch per console per event. Anyone else is woken and catches up at their own pace, so
        a slow console never holds up the rest.
        """
        fast: list[Conn] = []
        for conn in room.conns:
            lag = room.head - conn.cursor
            if not conn.synced_pending and lag > self.limits.max_lag:
                self._drop(conn, 1013, "too far behind; reconnect to resume from your last seq")
            elif (
                conn.idle
                and not conn.synced_pending
                and lag <= FAST_PATH_MAX
                and conn.direct.empty()
                and _buffer_small(conn)
            ):
                fast.append(conn)
            else:
                conn.wake.set()
        if not fast:
            return
        by_cursor: dict[int, list[Conn]] = {}
        for conn in fast:
            by_cursor.setdefault(conn.cursor, []).append(conn)
        for cursor, group in by_cursor.items():
            sockets = [c.ws for c in group]
            for frame in room.log[cursor : room.head]:
                broadcast(sockets, frame)
            for conn in group:
                conn.cursor = room.head

    def _drop(self, conn: Conn, code: int, reason: str) -> None:
        if conn.closing:
            return
        conn.closing = True
        conn.wake.set()
        loop = asyncio.get_running_loop()
        loop.create_task(conn.ws.close(code, reason))
        # A console that reads nothing never takes the close frame off the wire, and websockets
        # waits for that without a deadline: cut the TCP connection after the close timeout.
        loop.call_later(conn.ws.close_timeout or DROP_GRACE, abort_if_open, conn.ws)

    async def handler(self, ws: ServerConnection) -> None:
        """One console's connection, from hello to close."""
        credential = self.credentials.get(ws, OPEN)
        refusal = self.credential_full(credential)
        if refusal is not None:
            # Handshakes that raced past the check in process_request are turned away here.
            with contextlib.suppress(ConnectionClosed):
                await ws.send(Error(code="too_many_connections", message=refusal).model_dump_json())
                await ws.close(1008, "too many connections with this credential")
            return
        self.open_by_credential[credential] = self.open_by_credential.get(credential, 0) + 1
        conn = Conn(ws=ws, direct=asyncio.Queue(maxsize=self.limits.direct_queue))
        self.conns.add(conn)
        sender = asyncio.create_task(self._sender(conn))
        own = TokenBucket(self.limits.rate, self.limits.burst)
        shared = self._budget(credential)
        silent = asyncio.get_running_loop().call_later(
            self.limits.hello_timeout, self._close_if_silent, conn
        )
        try:
            warned = False
            async for raw in ws:
                # Over its rate, a connection is read no faster than the rate: the rest of the
                # flood waits in its own socket (TCP pushes back on the sender), not in the hub.
                # Nothing is refused, so a console's commands keep their order and none is lost;
                # it is told once per flood why it is being slowed. The same holds for all the
                # connections of one credential together, so twenty connections from one script
                # get one budget, not twenty.
                slowed = False
                for bucket, turn in ((own, None), (shared, self._budget_turn(credential))):
                    if bucket.take():
                        continue
                    slowed = True
                    if not warned:
                        warned = True
                        self._slow_down(conn, bucket.retry_after())
                    if not await self._wait_for_token(ws, bucket, turn):
                        return
                if not slowed:
                    warned = False
                await self._answer(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            silent.cancel()
            self.conns.discard(conn)
            left = self.open_by_credential.get(credential, 1) - 1
            if left > 0:
                self.open_by_credential[credential] = left
            else:
                self.open_by_credential.pop(credential, None)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await self._leave(conn)

    # --- limits per credential ----------------------------------------------------------------
    def connection_cap(self, credential: Credential) -> int:
        """Open connections ``credential`` may hold (0: no limit)."""
        return self.limits.per_code if credential.guest else self.limits.per_token

    def credential_full(self, credential: Credential) -> str | None:
        """Why one more connection with ``credential`` is refused, or None."""
        cap = self.connection_cap(credential)
        if cap <= 0 or self.open_by_credential.get(credential, 0) < cap:
            return None
        what = "join code" if credential.guest else "credential"
        return (
            f"This {what} already has {cap} connections open to this hub, its limit; "
            "close one first."
        )

    def _budget(self, credential: Credential) -> TokenBucket:
        """The message budget all the connections of ``credential`` share. Kept for the life
        of the hub, so closing and reopening connections does not refill it."""
        bucket = self.budgets.get(credential)
        if bucket is None:
            bucket = TokenBucket(self.limits.credential_rate, self.limits.credential_burst)
            self.budgets[credential] = bucket
        return bucket

    def _budget_turn(self, credential: Credential) -> asyncio.Lock:
        """Connections of one credential wait for its budget one at a time, in arrival order,
        so hundreds of them cost the hub one sleeping task, not hundreds polling."""
        lock = self._budget_turns.get(credential)
        if lock is None:
            lock = self._budget_turns[credential] = asyncio.Lock()
        return lock

    async def _wait_for_token(
        self, ws: ServerConnection, bucket: TokenBucket, turn: asyncio.Lock | None
    ) -> bool:
        """Sleep until ``bucket`` has a token and take it; False if the connection closed."""
        async with turn or contextlib.nullcontext():
            while not bucket.take():
                if ws.state is not State.OPEN:
                    return False
                await asyncio.sleep(max(bucket.retry_after(), 0.001))
        return True

    async def _answer(self, conn: Conn, raw: str | bytes) -> None:
        """Handle one frame; a hub bug answers ``internal`` and keeps the connection open, so no
        input can close a connection with 1011."""
        try:
            await self._on_message(conn, raw)
        except ConnectionClosed:
            raise
        except Exception:
            log.exception("could not handle a frame from %r", conn.name or "(no hello yet)")
            self.refused += 1
            self.send_direct(
                conn,
                Error(code="internal", message="The hub could not handle this message."),
            )

    def _slow_down(self, conn: Conn, retry_after: float) -> None:
        """Tell a flooding connection it is being read at its rate; it stays open."""
        self.throttled += 1
        self.send_direct(conn, Error(code="slow_down", message=slow_down_message(retry_after)))

    def _close_if_silent(self, conn: Conn) -> None:
        if not conn.greeted:
            self._drop(conn, 1008, "no hello in time")

    def credential_of(self, conn: Conn) -> Credential:
        return self.credentials.get(conn.ws, OPEN)

    def _hello_refusal(self, conn: Conn) -> Error | None:
        """Limits on who a connection may say it is: connections per name, a guest's seat."""
        same = sum(1 for c in self.conns if c is not conn and c.name == conn.name and not c.closing)
        if same >= self.limits.per_name:
            return Error(
                code="too_many_connections",
                message=f"{conn.name!r} already has {same} connections to this hub; "
                "close one first.",
            )
        credential = self.credential_of(conn)
        if credential.guest:
            room = self.rooms.get(credential.incident_id)
            code = _live_code(room, credential) if room else None
            if code is None:
                return Error(code="forbidden", message="Your join code was revoked.")
            if not code.allows_seat(conn.seat):
                return Error(
                    code="forbidden", message=f"Your join code does not let you in as {conn.seat}."
                )
        return None

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

    def _guest_refusal(self, conn: Conn, draft: EventBase) -> Error | None:
        """A guest acts in the one incident their join code is for, and declares nothing."""
        credential = self.credential_of(conn)
        if not credential.guest:
            return None
        if draft.type == "incident_declared":
            return Error(
                code="forbidden",
                id=draft.id,
                message="A join code lets you into one incident; it cannot declare one.",
            )
        if draft.incident_id != credential.incident_id:
            return Error(
                code="forbidden",
                id=draft.id,
                message=f"Your join code is for {credential.incident_id} only.",
            )
        return None

    def _disconnect_revoked(self, event: EventBase) -> None:
        """After a join code is revoked, nobody who entered with it stays connected."""
        if event.type != "join_code_revoked":
            return
        code_id = getattr(event, "code_id", "")
        for conn in list(self.conns):
            credential = self.credential_of(conn)
            if (
                credential.guest
                and credential.incident_id == event.incident_id
                and credential.name == code_id
            ):
                self._drop(conn, 1008, "your join code was revoked")

    async def _on_message(self, conn: Conn, raw: str | bytes) -> None:
        try:
            msg = parse_client_message(raw)
        except ProtocolError as exc:
            self.refused += 1
            self.send_direct(conn, Error(code=exc.code, message=exc.message, id=_id_of(raw)))
            return
        if isinstance(msg, Hello):
            self._hello(conn, msg)
        elif isinstance(msg, Ping):
            self.send_direct(conn, Pong(at=self.clock()))
        elif not conn.greeted:
            self.send_direct(
                conn,
                Error(
                    code="hello_first",
                    message='Send {"op": "hello", "name": ..., "role": ...} first.',
                ),
            )
        elif isinstance(msg, Join):
            await self._join(conn, msg)
        elif isinstance(msg, Command):
            await self._command(conn, msg)
        elif isinstance(msg, History):
            await answer_history(self.store, conn, msg, self.send_direct)

    def _hello(self, conn: Conn, msg: Hello) -> None:
        """Who this connection speaks as: the name its credential allows, fixed once welcomed.

        A refused ``hello`` changes nothing: a connection that was welcomed keeps its name and
        seat (and its presence), one that was not stays unwelcomed.
        """
        if msg.role == Role.HUB:
            self.send_direct(
                conn, Error(code="bad_message", message="hello needs a role a person can hold.")
            )
            return
        name_or_error = self._identify(conn, msg.name)
        if isinstance(name_or_error, Error):
            self.send_direct(conn, name_or_error)
            return
        name = name_or_error
        if conn.greeted:
            # Who a connection is never changes once it said hello: a repeat is answered, and
            # refused if it asks to be someone else or to sit in another seat.
            if name == conn.name and msg.role == conn.seat:
                self.send_direct(conn, Welcome(hub=__version__, name=conn.name, role=conn.seat))
            else:
                self.send_direct(
                    conn,
                    Error(
                        code="bad_message",
                        message=f"This connection already said hello as {conn.name} "
                        f"({conn.seat}); open a new connection to be someone else.",
                    ),
                )
            return
        previous = conn.name, conn.seat
        conn.name, conn.seat = name, msg.role
        refusal = self._hello_refusal(conn)
        if refusal is not None:
            conn.name, conn.seat = previous
            self.send_direct(conn, refusal)
            return
        self.send_direct(conn, Welcome(hub=__version__, name=conn.name, role=conn.seat))

    def _identify(self, conn: Conn, said: str) -> str | Error:
        """The name ``said`` in ``hello``, normalised, if this connection's credential allows it.

        A personal token speaks only as its person. A shared token or an open hub may not use a
        registered person's name, nor one that looks like it. A join code's holder is recorded
        as ``guest:NAME``, and NAME may not look like a registered person's.
        """
        credential = self.credential_of(conn)
        try:
            name = check_name(said, guest=credential.guest)
        except BadName as exc:
            return Error(code="bad_name", message=str(exc))
        if credential.kind == CredentialKind.PERSON:
            if name != credential.name:
                return Error(
                    code="wrong_name",
                    message=f"Your token is {credential.name}'s; it cannot speak as {name!r}.",
                )
            return name
        registered = self.registered()
        if name in registered:
            return Error(
                code="wrong_name",
                message=f"{name!r} is a registered person on this hub; connect with their "
                "personal token (warroom people add).",
            )
        lookalike = confusable_with(name, registered)
        if lookalike is not None:
            return Error(
                code="bad_name",
                message=f"{name!r} looks like {lookalike!r}, a registered person; "
                "choose another name.",
            )
        return name

    def drop_revoked_people(self, active: dict[str, str]) -> None:
        """Cut off every connection whose personal token is no longer live."""
        for conn in list(self.conns):
            credential = self.credential_of(conn)
            if credential.kind == CredentialKind.PERSON and (
                active.get(credential.name) != credential.digest
            ):
                self._drop(conn, 1008, "your personal token was revoked")

    def _refuse(self, conn: Conn, error: Error) -> None:
        """Answer a command refused before it reached the writer: counted, never stored."""
        self.refused += 1
        self.send_direct(conn, error)

    async def _command(self, conn: Conn, msg: Command) -> None:
        data = dict(msg.command)
        # The hub stamps these; whatever the sender put there is not trusted.
        for key in STAMPED_FIELDS:
            data.pop(key, None)
        if "id" not in data:
            # Typed by hand: give it an id so it can be stored (it is not idempotent then).
            data["id"] = str(_new_id())
        if (
            "incident_id" not in data
            and conn.room is not None
            and data.get("type") != "incident_declared"
        ):
            data["incident_id"] = conn.room.incident_id
        try:
            draft = parse_event(data)
        except EventError as exc:
            self._refuse(conn, Error(code="invalid", message=str(exc), id=_id_of(data)))
            return
        if draft.id.version == 5:
            self._refuse(
                conn,
                Error(
                    code="invalid",
                    id=draft.id,
                    message="Command ids must be random (UUID version 4); version 5 ids are "
                    "kept for the hub's own events.",
                ),
            )
            return
        if draft.type != "incident_declared" and (
            conn.room is None or conn.room.incident_id != draft.incident_id
        ):
            self._refuse(
                conn,
                Error(
                    code="not_joined",
                    id=draft.id,
                    message=f"Join {draft.incident_id or 'the incident'} on this connection "
                    "before acting in it.",
                ),
            )
            return
        if conn.reader_only:
            self._refuse(
                conn,
                Error(
                    code="forbidden",
                    id=draft.id,
                    message="This connection joined without presence and "
                    "is read-only; join normally to act.",
                ),
            )
            return
        refusal = self._guest_refusal(conn, draft)
        if refusal is not None:
            self._refuse(conn, refusal)
            return
        item = Pending(draft=draft, actor=Actor(name=conn.name, seat=conn.seat), conn=conn)
        # Not awaited: a console may pipeline commands; the writer answers each in order.
        await self.queue.put(item)

    def _unavailable(self, incident_id: str) -> str:
        return (
            f"Incident {incident_id} is set aside: the hub cannot read its record "
            "(see the hub's log). Every other incident is served."
        )

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
            # Already joined here: ``joined`` and ``synced`` at its cursor, nothing replayed and
            # nothing recorded (it keeps its presence), so re-sending join never makes the hub write.
            self.send_direct(conn, Joined(incident=room.incident_id, head=room.head))
            conn.synced_pending = True
            conn.wake.set()
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
                await self.record_by_hub(
                    room.incident_id,
                    ParticipantLeft(id=_new_id(), name=conn.name),
                    actor=Actor(name=conn.name, seat=conn.seat),
                )

    async def _sender(self, conn: Conn) -> None:
        ws = conn.ws
        try:
            while not conn.closing:
                conn.wake.clear()
                while not conn.direct.empty():
                    await ws.send(conn.direct.get_nowait())
                room = conn.room
                if room is not None:
                    burst = 0
                    while conn.cursor < room.head and conn.direct.empty():
                        frame = room.log[conn.cursor]
                        conn.cursor += 1
                        if _buffer_small(conn) and burst < SENDER_BURST:
                            # Straight into the socket's buffer, without a task switch per
                            # frame; the buffer check keeps the back-pressure.
                            broadcast([ws], frame)
                            burst += 1
                        else:
                            await ws.send(frame)  # waits for the socket to drain
                            burst = 0
                    if conn.synced_pending and conn.cursor >= room.head:
                        conn.synced_pending = False
                        await ws.send(
                            Synced(incident=room.incident_id, seq=conn.cursor).model_dump_json()
                        )
                if conn.direct.empty() and (conn.room is None or conn.cursor >= conn.room.head):
                    conn.idle = True
                    try:
                        await conn.wake.wait()
                    finally:
                        conn.idle = False
        except ConnectionClosed:
            return

    # --- HTTP views ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = {
            "status": "degraded" if self.set_aside else "ok",
            "version": __version__,
            "incidents": len(self.rooms),
            "connections": len(self.conns),
        }
        if self.set_aside:
            health["set_aside"] = dict(self.set_aside)
        if self.write_failures:
            health["write_failures"] = self.write_failures
        return health

    def incident_list(self, include_closed: bool = False) -> list[dict[str, Any]]:
        rows = []
        for room in self.rooms.values():
            s = room.state
            if s.phase == "closed" and not include_closed:
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
        rows.sort(key=lambda r: r["declared_at"] or "", reverse=True)
        return rows


def event_frame(event: EventBase) -> str:
    """The ``event`` message for ``event``, serialised once and sent to everyone."""
    return json.dumps(
        {"op": "event", "event": event.model_dump(mode="json")}, separators=(",", ":")
    )


def abort_if_open(ws: ServerConnection) -> None:
    """Drop the TCP connection of a console whose closing handshake did not finish."""
    if ws.state is not State.CLOSED and ws.transport is not None:
        ws.transport.abort()


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


def _unsent_bytes(ws: ServerConnection) -> int:
    """Bytes written to ``ws`` that its peer has not received yet: the transport's buffer plus,
    where the OS tells (Linux ``SIOCOUTQ``), the kernel's send queue, which alone can hold
    megabytes and so hide a slow reader's progress for a long time."""
    transport = ws.transport
    if transport is None:
        return 0
    size = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if sock is not None and _OUTQ is not None:
        with contextlib.suppress(OSError, ValueError):
            size += struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
    return size


def _buffer_small(conn: Conn) -> bool:
    transport = conn.ws.transport
    return transport is not None and transport.get_write_buffer_size() < FAST_PATH_BUFFER


def _error(refusal: Refusal, draft: EventBase) -> Error:
    return Error(code=refusal.code, message=refusal.message, id=draft.id)


def _id_of(data: Any) -> UUID | None:
    """Best effort: the command id in a message we could not accept, to name it in the error."""
    if isinstance(data, str | bytes):
        try:
            data = load_json(data)
        except ProtocolError:
            return None
        if isinstance(data, dict):
            data = data.get("command", data)
    if isinstance(data, dict):
        try:
            return UUID(str(data.get("id")))
        except ValueError:
            return None
    return None


def _new_id() -> UUID:
    import uuid

    return uuid.uuid4()
