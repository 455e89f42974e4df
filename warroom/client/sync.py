"""Keeps a console in step with one incident on the hub.

The client holds the folded state and the timeline's events, reconnects with backoff when the
link drops, resumes from its last ``seq``, and keeps an outbox: commands made while offline wait
there, marked pending, and are sent in order when the link is back. Each command has a UUID that
the hub uses as an idempotency key, so a command re-sent after a lost acknowledgement is stored
once. Given an :class:`~warroom.client.outbox.OutboxStore`, the outbox is also written to disk the
moment a command is made (off the event loop, by :class:`~warroom.client.outbox_writer.OutboxWriter`)
and the command is sent only once that write is done, so a console that quits or is killed loses
nothing the hub may have: the next one sends it.

After :data:`OFFLINE_AFTER` without the hub the link is reported ``offline`` rather than
``reconnecting`` (it keeps trying): what the console knows of the room is then stale.

Joining (protocol 2): the hub sends either the events missed since the last ``seq`` or a
``snapshot`` of the state and the last events for the timeline. The client takes a snapshot as
its state, keeps the events that follow it as timeline rows, and folds an event only when its
``seq`` is the state's ``seq`` + 1, so nothing is ever folded twice. Older timeline rows are
fetched on request (:meth:`IncidentClient.request_history`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import random
import ssl
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from warroom.client.backoff import Backoff
from warroom.client.outbox import OutboxSaveError, OutboxStore
from warroom.client.outbox_writer import OutboxWriter
from warroom.client.urls import auth_headers, client_ssl
from warroom.core.clock import Clock, utc_now
from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.incident import IncidentDeclared
from warroom.core.log import EventError, parse_event
from warroom.core.protocol import (
    HISTORY_LIMIT,
    HUB_ADAPTER,
    PROTOCOL_VERSION,
    Ack,
    Error,
    EventMsg,
    Hello,
    History,
    HistoryPage,
    Join,
    Joined,
    Snapshot,
    Synced,
    Welcome,
)
from warroom.core.redaction import EntryRedacted, redact_log
from warroom.core.roles import Role
from warroom.core.state import IncidentState
from warroom.core.wire_state import state_from_json
from warroom.redact import redacted_logger

log = logging.getLogger("warroom.client")

#: Seconds (on average, jittered) before a command refused with ``slow_down`` is sent again.
SLOW_DOWN_DELAY = 1.0


#: How long without the hub before the link is shown offline (and others' presence as unknown).
OFFLINE_AFTER = timedelta(seconds=30)

#: How the hub's event frames begin (it serialises them compactly, "op" first).
EVENT_PREFIX = '{"op":"event",'

#: Largest frame the client reads: a snapshot of a long incident's state can be megabytes.
MAX_FRAME_BYTES = 64 * 1024 * 1024

#: Codes of refusals that no retry will cure (the console says why and stops trying).
FATAL_CODES = frozenset(
    {"unknown_incident", "unavailable", "wrong_name", "bad_name", "protocol_unsupported"}
)


class LinkStatus(StrEnum):
    """What the status bar shows about the link to the hub."""

    CONNECTING = "connecting"
    SYNCING = "syncing"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"


@dataclass
class Change:
    """One thing that changed, for whoever renders the client."""

    #: "event" | "snapshot" | "history" | "status" | "ack" | "error" | "pending" | "warning"
    kind: str
    event: EventBase | None = None
    ack: Ack | None = None
    error: Error | None = None
    status: LinkStatus | None = None
    #: For "warning": what went wrong with the outbox on disk, in a sentence for the user.
    message: str | None = None


class AuthRefused(RuntimeError):
    """The hub refused our token: retrying will not help."""


class IncidentClient:
    """A live, resumable view of one incident on one hub."""

    def __init__(
        self,
        url: str,
        name: str,
        role: Role | str,
        incident_id: str,
        token: str | None = None,
        backoff: Backoff | None = None,
        join_code: str | None = None,
        cafile: str | None = None,
        *,
        store: OutboxStore | None = None,
        clock: Clock = utc_now,
        offline_after: timedelta = OFFLINE_AFTER,
        follow: bool = True,
        fallback: Sequence[str] = (),
    ) -> None:
        #: The hub this client talks to now: ``url``, or one of ``fallback`` after a fail-over.
        self.url = url
        #: Every hub that serves the same record (several hubs on one PostgreSQL database):
        #: when the link to one drops, the next is tried, and the join resumes from the last seq.
        self.hubs: list[str] = list(dict.fromkeys([url, *fallback]))
        self.name = name
        self.role = Role(role)
        self.incident_id = incident_id
        self.token = token
        #: An incident join code (instead of, or besides, a hub token); sent in a header.
        self.join_code = join_code
        #: CA bundle that signed a ``wss://`` hub's certificate (default: the system's CAs).
        self.cafile = cafile
        self.backoff = backoff or Backoff()
        self.state = IncidentState()
        #: The events the timeline shows, in ``seq`` order without gaps: after a snapshot, only
        #: its tail and what came since; :meth:`request_history` adds older ones in front.
        self.log: list[EventBase] = []
        #: Grows each time :attr:`log` is replaced by a snapshot's tail (so a screen that keeps
        #: its own copy of the rows knows to start over rather than append).
        self.log_epoch = 0
        #: Whether :attr:`log` reaches back to the incident's first event.
        self.history_complete = True
        #: The ``before`` of the ``history`` request in flight, if any.
        self._history_before: int | None = None
        #: Set whenever a ``history`` page (or a snapshot) changed :attr:`log` at its start.
        self._history_news = asyncio.Event()
        self.outbox: OrderedDict[uuid.UUID, EventBase] = OrderedDict()
        self.results: dict[uuid.UUID, asyncio.Future[Ack | Error]] = {}
        self.status = LinkStatus.CONNECTING
        self.last_error: Error | None = None
        self.fatal: str | None = None
        self._listeners: list[Callable[[Change], None]] = []
        self._ws: ClientConnection | None = None
        self._frames: asyncio.Queue[str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        self._closed = False
        self._seq_waiters: list[tuple[int, asyncio.Future[None]]] = []
        #: Where the outbox is kept on disk (``None``: in memory only).
        self.store = store
        #: Commands a previous console of this person left pending, sent again by this one.
        self.restored: list[EventBase] = []
        self._save_scheduled = False
        #: Writes the outbox off the event loop, in order (made when first needed).
        self._writer: OutboxWriter | None = None
        #: Commands made but not yet on disk, with the write that will hold them: they go to
        #: the hub only once it is done, so whatever the hub stores is on disk first.
        self._unsaved: dict[uuid.UUID, asyncio.Future[None]] = {}
        #: Measures how long the hub has been gone (injectable, so tests need not wait).
        self.clock = clock
        self.offline_after = offline_after
        #: When the link was lost (or first failed), while it stays down.
        self.down_since: datetime | None = None
        #: ``False``: only deliver a pending declaration (see :meth:`_declare_pending`), without
        #: joining the incident (joining is recorded on its timeline).
        self.follow = follow
        #: What broke the link last (the transport's error, by name), for a message to the user.
        self.link_error: str | None = None

    # --- observing ----------------------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        return self.state.seq

    @property
    def pending(self) -> list[EventBase]:
        return list(self.outbox.values())

    @property
    def first_seq(self) -> int:
        """The ``seq`` of the oldest event in :attr:`log` (the state's next one if it is empty)."""
        return self.log[0].seq if self.log else self.state.seq + 1

    def events_after(self, seq: int) -> list[EventBase]:
        """The events of :attr:`log` with a ``seq`` above ``seq``."""
        return self.log[bisect.bisect_right(self.log, seq, key=lambda e: e.seq) :]

    def events_before(self, seq: int) -> list[EventBase]:
        """The events of :attr:`log` with a ``seq`` below ``seq``."""
        return self.log[: bisect.bisect_left(self.log, seq, key=lambda e: e.seq)]

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener`` for every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, change: Change) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("listener failed")

    def _set_status(self, status: LinkStatus) -> None:
        if status != self.status:
            self.status = status
            self._emit(Change(kind="status", status=status))

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._restore()
            self._task = asyncio.create_task(self.run(), name=f"warroom-client-{self.name}")
        return self._task

    def _restore(self) -> None:
        """Take over what a previous console of this person left pending on disk."""
        if self.store is None:
            return
        try:
            restored = self.store.open()
        except OutboxSaveError as exc:
            self.store = None  # keep working, in memory only, and say so
            self._warn(f"The outbox cannot be kept on disk ({exc}); pending work is lost if "
                       "this console quits before the hub has it.")  # fmt: skip
            return
        for problem in restored.problems:
            self._warn(problem)
        loop = asyncio.get_running_loop()
        for command in restored.commands:
            if command.id in self.outbox:
                continue
            self.outbox[command.id] = command
            self.results[command.id] = loop.create_future()
            self.restored.append(command)
        if restored.commands:
            self._emit(Change(kind="pending"))

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self._emit(Change(kind="warning", message=message))

    def detach_store(self) -> None:
        """Write the outbox one last time and let another console adopt it (kept on disk)."""
        store, self.store = self.store, None
        if store is None:
            return
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()  # what it has queued is written first
        self._save_now(store)
        store.close()

    def discard_pending(self) -> int:
        """Drop every pending command, in memory and on disk; returns how many there were."""
        dropped = list(self.outbox)
        self.outbox.clear()
        for command_id in dropped:
            fut = self.results.pop(command_id, None)
            if fut is not None and not fut.done():
                fut.cancel()
        self._save_now()
        self._emit(Change(kind="pending"))
        return len(dropped)

    def _save_now(self, store: OutboxStore | None = None) -> None:
        """Write the outbox to disk now, after any write queued before (the caller waits)."""
        self._save_scheduled = False
        store = store or self.store
        if store is None:
            return
        if self._writer is not None:
            self._writer.flush()
        try:
            store.save(list(self.outbox.values()))
        except OutboxSaveError as exc:
            self._warn(str(exc))

    def _write_outbox(self) -> asyncio.Future[None] | None:
        """Have the outbox written off the loop; done once it is on disk (None: no disk)."""
        if self.store is None:
            return None
        if self._writer is None:
            self._writer = OutboxWriter(self.store, self._warn)
        return self._writer.save(list(self.outbox.values()))

    def _save_soon(self) -> None:
        """Write the outbox once the current burst of acknowledgements is handled.

        Only removals wait: if the console dies first, a command already stored is sent again
        and the hub, which stores an id once, answers it as a duplicate.
        """
        if self.store is None or self._save_scheduled:
            return
        self._save_scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self._save_if_scheduled)
        except RuntimeError:  # no loop (closing): write it now
            self._save_now()

    def _save_if_scheduled(self) -> None:
        if self._save_scheduled:
            self._save_scheduled = False
            self._write_outbox()

    async def close(self) -> None:
        self.detach_store()
        self._closed = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._set_status(LinkStatus.OFFLINE)

    async def wait_synced(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._synced.wait(), timeout)

    async def wait_for_seq(self, seq: int, timeout: float = 10.0) -> None:
        """Wait until the local log reaches ``seq``."""
        if self.last_seq >= seq:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq_waiters.append((seq, fut))
        await asyncio.wait_for(fut, timeout)

    async def run(self) -> None:
        """Connect, sync, and stay connected until closed."""
        while not self._closed:
            try:
                await self._session()
            except AuthRefused as exc:
                self.fatal = str(exc)
                self._set_status(LinkStatus.OFFLINE)
                return
            except (TimeoutError, OSError, WebSocketException) as exc:
                log.info("link to %s lost: %s", self.url, exc)
                self.link_error = type(exc).__name__
            if self._closed:
                break
            self._fail_over()
            self._synced.clear()
            if self.down_since is None:
                self.down_since = self.clock()
            self.check_link()
            await asyncio.sleep(self.backoff.next_delay())

    def _fail_over(self) -> None:
        """After a lost link or a failed attempt, try the next hub of :attr:`hubs` (if any).

        Safe because they share one record: the join says ``since`` the last seq this client
        holds, and every pending command is sent again with its id, which a hub that stored it
        through another hub acknowledges as a duplicate, never storing it twice."""
        if len(self.hubs) < 2:
            return
        index = self.hubs.index(self.url) if self.url in self.hubs else -1
        self.url = self.hubs[(index + 1) % len(self.hubs)]
        log.info("trying the next hub: %s", self.url)

    def check_link(self) -> None:
        """While the hub is away: ``reconnecting`` at first, ``offline`` once it has been long.

        Called after every failed attempt, and by the console every second so the change shows
        on time whatever the backoff.
        """
        if self.down_since is None or self._closed or self.fatal:
            return
        gone = self.clock() - self.down_since
        self._set_status(
            LinkStatus.OFFLINE if gone >= self.offline_after else LinkStatus.RECONNECTING
        )

    async def _session(self) -> None:
        try:
            ws = await connect(
                self.url,
                additional_headers=auth_headers(self.token, self.join_code),
                max_size=MAX_FRAME_BYTES,
                open_timeout=5,
                ssl=client_ssl(self.url, self.cafile),
                logger=redacted_logger("warroom.client.websockets"),
            )
        except InvalidStatus as exc:
            if exc.response.status_code in (401, 403):
                if self.join_code:
                    why = "the join code is wrong, or the IC revoked it: ask the IC for a new one"
                elif self.token:
                    why = (
                        "the token is wrong, or it was revoked (warroom people add gives a new "
                        "one); check --token, WARROOM_TOKEN or the config file's token"
                    )
                else:
                    why = "this hub needs a token (check --token) or a join code"
                raise AuthRefused(
                    f"The hub refused us ({exc.response.status_code}): {why}."
                ) from exc
            raise
        except ssl.SSLCertVerificationError as exc:
            raise AuthRefused(
                f"The hub's certificate is not trusted ({exc.verify_message}): pass --cafile "
                "with the CA that signed it."
            ) from exc
        self._ws = ws
        # One writer per session sends frames strictly in the order commands were made.
        frames: asyncio.Queue[str] = asyncio.Queue()
        self._frames = frames
        writer = asyncio.create_task(self._write_frames(ws, frames))
        try:
            await ws.send(
                Hello(name=self.name, role=self.role, protocol=PROTOCOL_VERSION).model_dump_json()
            )
            await self._declare_pending(ws)
            if not self.follow:
                return
            await ws.send(Join(incident=self.incident_id, since=self.last_seq).model_dump_json())
            self._set_status(LinkStatus.SYNCING)
            async for raw in ws:
                self._on_message(raw)
        except ConnectionClosed:
            pass
        finally:
            self._ws = None
            self._frames = None
            self._history_before = None
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            with contextlib.suppress(Exception):
                await ws.close()

    async def _declare_pending(self, ws: ClientConnection) -> None:
        """Deliver a declaration waiting in the outbox before joining its incident.

        The incident exists only once the hub has stored its declaration, so it is sent first
        and answered before the join. It keeps the ids it was made with (the incident's and the
        command's): sent again after a lost answer, the hub acknowledges the one it stored as a
        duplicate, so a retry never declares a second incident.
        """
        declaration = next(
            (
                command
                for command in self.outbox.values()
                if isinstance(command, IncidentDeclared) and command.incident_id == self.incident_id
            ),
            None,
        )
        if declaration is None:
            return
        writing = self._unsaved.get(declaration.id)
        if writing is not None:
            await asyncio.shield(writing)  # on disk before the hub may store it
        await ws.send(self._command_frame(declaration))
        async for raw in ws:
            self._on_message(raw)
            if declaration.id not in self.outbox:
                return

    async def _write_frames(self, ws: ClientConnection, frames: asyncio.Queue[str]) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.send(await frames.get())

    # --- receiving ----------------------------------------------------------------------------
    def _on_message(self, raw: str | bytes) -> None:
        if isinstance(raw, str) and raw.startswith(EVENT_PREFIX):
            # Events are nearly every frame: validate the event once, not its envelope too.
            try:
                data = json.loads(raw)["event"]
            except (ValueError, KeyError, TypeError):
                log.warning("ignoring a malformed event frame: %.200s", raw)
                return
            self._on_event(data)
            return
        try:
            msg = HUB_ADAPTER.validate_json(raw)
        except ValidationError:
            log.warning("ignoring a message the hub should not have sent: %.200s", raw)
            return
        if isinstance(msg, EventMsg):
            self._on_event(msg.event)
        elif isinstance(msg, Ack):
            if self._settle(msg.id, msg):
                # Only an ack that changed something is news: one that follows its own event
                # (the usual order) was settled when the event came.
                self._emit(Change(kind="ack", ack=msg))
        elif isinstance(msg, Error):
            self._on_error(msg)
        elif isinstance(msg, Snapshot):
            self._on_snapshot(msg)
        elif isinstance(msg, HistoryPage):
            self._on_history(msg)
        elif isinstance(msg, Synced):
            self.backoff.reset()
            self.down_since = None
            self._synced.set()
            self._set_status(LinkStatus.LIVE)
            self._flush_outbox()
        elif isinstance(msg, Welcome):
            # The hub's name for us (normalised; ``guest:NAME`` for a guest) is the one events carry.
            self.name = msg.name
        elif isinstance(msg, Joined):
            pass

    def _on_snapshot(self, msg: Snapshot) -> None:
        """Take the hub's state as ours; the events that follow fill the timeline."""
        try:
            state = state_from_json(msg.state)
        except ValidationError as exc:
            log.error("hub sent a snapshot this console cannot read: %s", exc)
            if self._ws is not None:
                asyncio.get_running_loop().create_task(self._ws.close())
            return
        self.state = state
        self.log = []
        self.log_epoch += 1
        self.history_complete = state.seq == 0
        self._history_before = None
        self._history_news.set()
        self._emit(Change(kind="snapshot"))
        self._wake_waiters()

    def _on_event(self, data: dict[str, Any]) -> None:
        try:
            event = parse_event(data)
        except EventError as exc:
            self._skip_unreadable(data, exc)
            return
        if event.seq <= self.last_seq:
            # Already folded (a snapshot's tail, or a replay overlapping what we had): a row for
            # the timeline if it is newer than the rows we hold, never folded again.
            if self.log and event.seq <= self.log[-1].seq:
                return
            if not self.log:
                self.history_complete = event.seq == 1
            self.log.append(event)
            self._settle_own(event)
            self._emit(Change(kind="event", event=event))
            return
        if event.seq != self.last_seq + 1:
            log.warning("gap: have %s, got %s; resyncing", self.last_seq, event.seq)
            if self._ws is not None:
                asyncio.get_running_loop().create_task(self._ws.close())
            return
        self.state = apply(self.state, event)
        if isinstance(event, EntryRedacted):
            redact_log(self.log, event, self.state)  # this console's copy loses the text too
        if not self.log:
            self.history_complete = event.seq == 1
        self.log.append(event)
        self._settle_own(event)
        self._emit(Change(kind="event", event=event))
        self._wake_waiters()

    def _skip_unreadable(self, data: dict[str, Any], exc: EventError) -> None:
        """An event this console cannot read (a newer hub's type): counted, never folded.

        Its ``seq`` still advances the state, so the events after it fold in order.
        """
        seq = data.get("seq") if isinstance(data, dict) else None
        log.warning("skipping an event this console cannot read: %s", exc)
        if type(seq) is int and seq == self.last_seq + 1:
            self.state = self.state.model_copy(update={"seq": seq})
            self._wake_waiters()

    def _settle_own(self, event: EventBase) -> None:
        if event.id in self.outbox or event.id in self.results:
            # Our own command, stored: it is settled even if its ack was lost with the link
            # (after a reconnect it is not sent again, so no ack would ever come). The one
            # notice of this event covers the shorter outbox too.
            reply = Ack(id=event.id, incident=event.incident_id, seq=event.seq)
            self._settle(event.id, reply)

    def _wake_waiters(self) -> None:
        for item in [w for w in self._seq_waiters if w[0] <= self.last_seq]:
            self._seq_waiters.remove(item)
            if not item[1].done():
                item[1].set_result(None)

    # --- older timeline rows ------------------------------------------------------------------
    def request_history(self, limit: int = HISTORY_LIMIT) -> bool:
        """Ask the hub for the events before the oldest row held; False if there is nothing
        to ask (the log reaches the first event, a request is in flight, or we are offline)."""
        if self.history_complete or self._history_before is not None or self._ws is None:
            return False
        if self.status != LinkStatus.LIVE:
            return False
        before = self.first_seq
        if before <= 1:
            self.history_complete = True
            return False
        self._history_before = before
        frame = History(incident=self.incident_id, before=before, limit=limit).model_dump_json()
        self._send_frame(frame)
        return True

    def _send_frame(self, frame: str) -> None:
        frames = self._frames
        if frames is not None:
            frames.put_nowait(frame)

    def _on_history(self, page: HistoryPage) -> None:
        if page.before != self._history_before:
            return  # an answer to a request made before a snapshot replaced the rows
        self._history_before = None
        older: list[EventBase] = []
        for data in page.events:
            try:
                older.append(parse_event(data))
            except EventError as exc:
                log.warning("skipping a history event this console cannot read: %s", exc)
        first = self.first_seq
        older = [e for e in older if e.seq < first]
        self.log[:0] = older
        if page.complete or (self.log and self.log[0].seq == 1):
            self.history_complete = True
        self._history_news.set()
        self._emit(Change(kind="history"))

    async def complete_history(self, timeout: float = 120.0) -> bool:
        """Fetch older pages until :attr:`log` reaches the incident's first event (an export
        needs the whole record). False if the hub cannot be asked now (offline) or is too slow."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.history_complete:
            self._history_news.clear()
            if self._history_before is None and not self.request_history():
                return self.history_complete
            try:
                await asyncio.wait_for(self._history_news.wait(), deadline - loop.time())
            except TimeoutError:
                return False
        return True

    def _on_error(self, err: Error) -> None:
        if err.code == "slow_down":
            self._retry_later(err)
            return
        self.last_error = err
        if err.code == "ahead_of_hub":
            # The hub's record is the truth: start over from nothing.
            self.state = IncidentState()
            self.log = []
            self.log_epoch += 1
            if self._ws is not None:
                asyncio.get_running_loop().create_task(
                    self._ws.send(Join(incident=self.incident_id, since=0).model_dump_json())
                )
        elif err.code in FATAL_CODES and err.id is None:
            # Retrying will not help: the incident is not there or is set aside by the hub, the
            # hub will not let this console speak under this name, or it speaks another protocol.
            self.fatal = err.message
        command_id = err.command_id  # the wire's id is text; ours are UUIDs
        if command_id is not None and command_id in self.outbox:
            self.outbox.pop(command_id, None)
            self._save_soon()  # the "error" notice below covers the shorter outbox
        if command_id is not None:
            self._settle(command_id, err)
        self._emit(Change(kind="error", error=err))

    def _retry_later(self, err: Error) -> None:
        """The hub refused a command for coming too fast (nothing stored): send it again soon.

        It stays in the outbox, so it is not lost if the link drops meanwhile either.
        """
        command = self.outbox.get(err.command_id) if err.command_id is not None else None
        if command is None:
            return

        def resend() -> None:
            if command.id in self.outbox and self.status == LinkStatus.LIVE:
                self._transmit(command)

        delay = SLOW_DOWN_DELAY * (0.5 + random.random())
        asyncio.get_running_loop().call_later(delay, resend)

    def _settle(self, command_id: uuid.UUID, reply: Ack | Error) -> bool:
        """Resolve the command's future and drop it from the outbox; whether anything changed.

        It emits nothing: the caller sends the one notice of what happened (event, ack, error).
        """
        changed = False
        if isinstance(reply, Ack) and command_id in self.outbox:
            self.outbox.pop(command_id, None)
            self._save_soon()
            changed = True
        fut = self.results.pop(command_id, None)
        if fut is not None and not fut.done():
            fut.set_result(reply)
            changed = True
        return changed

    # --- sending ------------------------------------------------------------------------------
    def send(self, command: EventBase) -> asyncio.Future[Ack | Error]:
        """Queue ``command`` (an event instance, unstamped); sent now if live, else when back.

        A command built without an incident (``NoteAdded(text=...)``) is for this client's one.
        """
        if not command.incident_id:
            command = command.model_copy(update={"incident_id": self.incident_id})
        fut: asyncio.Future[Ack | Error] = asyncio.get_running_loop().create_future()
        self.results[command.id] = fut
        self.outbox[command.id] = command
        # On disk before it goes anywhere, written off the loop so that the pending line shows
        # at once; it is sent when the write is done (:meth:`_saved`).
        writing = self._write_outbox()
        if writing is not None:
            self._unsaved[command.id] = writing
            writing.add_done_callback(lambda _: self._saved(command))
        self._emit(Change(kind="pending"))
        if writing is None and self.status == LinkStatus.LIVE:
            self._transmit(command)  # kept in memory only: nothing to wait for
        return fut

    def _saved(self, command: EventBase) -> None:
        """``command`` is on disk: it may go to the hub now (if still pending and live)."""
        self._unsaved.pop(command.id, None)
        if command.id in self.outbox and self.status == LinkStatus.LIVE:
            self._transmit(command)

    async def post(self, command: EventBase) -> Ack | Error:
        """Send ``command`` and wait for the hub's answer."""
        return await self.send(command)

    def _flush_outbox(self) -> None:
        for command in list(self.outbox.values()):
            if command.id not in self._unsaved:  # those go once on disk (:meth:`_saved`)
                self._transmit(command)

    def _transmit(self, command: EventBase) -> None:
        frames = self._frames
        if frames is None:
            return  # offline: it stays in the outbox and goes out after the next sync
        frames.put_nowait(self._command_frame(command))

    @staticmethod
    def _command_frame(command: EventBase) -> str:
        return json.dumps({"op": "command", "command": command.command_body()})
