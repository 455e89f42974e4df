"""One connection's protocol, from hello to close: who it speaks as, how fast it may speak,
and each frame it sends (hello, ping, join, command, history) handed to the layer that answers it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from warroom.hub.credentials import OPEN, Credential, CredentialKind
from warroom.hub.history import answer_history
from warroom.hub.hubstate import Pending, new_event_id
from warroom.hub.joining import Joining
from warroom.hub.limits import TokenBucket, slow_down_message
from warroom.hub.rooms import Conn
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from warroom import __version__
from warroom.core.admission import guest_seat_refusal
from warroom.core.events import STAMPED_FIELDS, Actor, EventBase, refuse
from warroom.core.incident import IncidentDeclared
from warroom.core.log import EventError, parse_event
from warroom.core.names import BadName, check_name, confusable_with
from warroom.core.protocol import (
    Ack,
    Command,
    Error,
    Hello,
    History,
    Join,
    Ping,
    Pong,
    ProtocolError,
    Welcome,
    load_json,
    parse_client_message,
)
from warroom.core.roles import Role

log = logging.getLogger("warroom.hub")


class Connections(Joining):
    """Serving one websocket connection: identity, rate limits, and dispatching its frames."""

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
                Error(
                    code="internal",
                    message="The hub could not handle this message.",
                    id=_id_of(raw),
                ),
            )

    def _slow_down(self, conn: Conn, retry_after: float) -> None:
        """Tell a flooding connection it is being read at its rate; it stays open."""
        self.throttled += 1
        self.send_direct(conn, Error(code="slow_down", message=slow_down_message(retry_after)))

    def _close_if_silent(self, conn: Conn) -> None:
        if not conn.greeted:
            self._drop(conn, 1008, "no hello in time")

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
            room = self.live.room_now(credential.incident_id)
            refusal = (
                guest_seat_refusal(room.state, credential.name, conn.seat)
                if room is not None
                else refuse("forbidden", "Your join code was revoked.")
            )
            if refusal is not None:
                return Error(code=refusal.code, message=refusal.message)
        return None

    def _guest_refusal(self, conn: Conn, draft: EventBase) -> Error | None:
        """A guest acts in the one incident their join code is for, and declares nothing."""
        credential = self.credential_of(conn)
        if not credential.guest:
            return None
        if isinstance(draft, IncidentDeclared):
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
                    message='Send {"op": "hello", "protocol": 2, "name": ..., "role": ...} first.',
                    id=_id_of(raw),
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

    def _reply(self, conn: Conn, reply: Ack | Error) -> None:
        if isinstance(reply, Error):
            self._refuse(conn, reply)
        else:
            self.send_direct(conn, reply)

    def _refuse(self, conn: Conn, error: Error) -> None:
        """Answer a command refused before it reached the writer: counted, never stored."""
        self.refused += 1
        self.send_direct(conn, error)

    async def _command(self, conn: Conn, msg: Command) -> None:
        data = dict(msg.command)
        sent_id = _id_of(data)  # echoed as sent if the command cannot be read
        # The hub stamps these; whatever the sender put there is not trusted.
        for key in STAMPED_FIELDS:
            data.pop(key, None)
        if "id" not in data:
            # Typed by hand: give it an id so it can be stored (it is not idempotent then).
            data["id"] = str(new_event_id())
        dismissal = self.alert_link.dismissal(data, sent_id)  # about an alert group (issue 20)
        if dismissal is not None:
            guest = self.credential_of(conn).guest
            self._reply(conn, await self.alert_link.dismiss(conn.name, conn.seat, guest, dismissal))
            return
        try:
            draft = parse_event(data)
        except EventError as exc:
            self._refuse(conn, Error(code="invalid", message=str(exc), id=sent_id))
            return
        if (
            "incident_id" not in data
            and conn.room is not None
            and not isinstance(draft, IncidentDeclared)
        ):
            draft = draft.model_copy(update={"incident_id": conn.room.incident_id})
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
        if not isinstance(draft, IncidentDeclared) and (
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


def _id_of(data: Any) -> str | None:
    """The id a frame carried, as it was sent, to echo in the error that refuses it: the
    command's ``id`` (or, in a frame without a command, an ``id`` beside ``op``). Only a string
    is an id; a frame that is not JSON, or an id that is not a string, has none."""
    if isinstance(data, str | bytes):
        try:
            data = load_json(data)
        except ProtocolError:
            return None
        if isinstance(data, dict):
            command = data.get("command")
            data = command if isinstance(command, dict) else data
    if isinstance(data, dict):
        found = data.get("id")
        return found if isinstance(found, str) else None
    return None
