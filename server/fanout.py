"""Fan-out: sending stored events and direct replies to consoles, and cutting off the ones
that stop reading (buffers, the stall watchdog), so a slow console only ever delays itself."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import struct
import sys
import termios
import time
from typing import Any

from warroom.hub.hubstate import HubState
from warroom.hub.rooms import Conn, Room
from warroom.hub.rooms import event_frame as event_frame  # where the hub's modules import it
from warroom.hub.wire import send_text, text_frame_bytes
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from warroom.core.protocol import Synced, lock_view

log = logging.getLogger("warroom.hub")


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


class Fanout(HubState):
    """Delivering to consoles: each connection's sender, the fast path, drops and stalls."""

    def send_direct(self, conn: Conn, message: Any) -> None:
        """Queue a reply (a message, or a frame already serialised) for one console; a console
        that stops reading is cut off."""
        if conn.closing:
            return
        text = message if isinstance(message, str) else message.model_dump_json()
        if _direct_now(conn):
            # Nothing queued, nothing behind, its sender asleep: written at once, in the order
            # the sender would have used, without waking it.
            send_text([conn.ws], text)
            return
        try:
            conn.direct.put_nowait(text)
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
        #: Each frame's wire bytes, framed once for every group that is sent it.
        wires: dict[int, bytes] = {}
        for cursor, group in by_cursor.items():
            frames = room.frames_after(cursor)
            if frames is None:  # no longer in memory (a tiny tail): their senders read storage
                for conn in group:
                    conn.wake.set()
                continue
            sockets = [c.ws for c in group]
            for seq, frame in enumerate(frames, start=cursor + 1):
                wire = wires.get(seq)
                if wire is None:
                    wire = wires[seq] = text_frame_bytes(frame)
                send_text(sockets, frame, wire)
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
                        frame = room.frame_after(conn.cursor)
                        if frame is None:  # older than the room's tail: read from storage
                            if not await self.live.send_stored(conn, room):
                                break
                            continue
                        conn.cursor += 1
                        if _buffer_small(conn) and burst < SENDER_BURST:
                            # Straight into the socket's buffer, without a task switch per
                            # frame; the buffer check keeps the back-pressure.
                            send_text([ws], frame)
                            burst += 1
                        else:
                            await ws.send(frame)  # waits for the socket to drain
                            burst = 0
                    if conn.synced_pending and conn.cursor >= room.head:
                        conn.synced_pending = False
                        synced = Synced(
                            incident=room.incident_id,
                            seq=conn.cursor,
                            lock=lock_view(room.state.lock)
                            if room.state.seq == conn.cursor
                            else None,
                        )
                        await ws.send(synced.model_dump_json())
                if conn.direct.empty() and _caught_up(conn):
                    conn.idle = True
                    try:
                        await conn.wake.wait()
                    finally:
                        conn.idle = False
        except ConnectionClosed:
            return

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


def abort_if_open(ws: ServerConnection) -> None:
    """Drop the TCP connection of a console whose closing handshake did not finish."""
    if ws.state is not State.CLOSED and ws.transport is not None:
        ws.transport.abort()


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


def _direct_now(conn: Conn) -> bool:
    """Whether a reply to ``conn`` may be written now instead of queued for its sender: the
    sender waits with nothing to do (no replies queued, no events behind, no ``synced`` owed,
    not already woken) and the socket is nearly empty."""
    return (
        conn.idle
        and not conn.wake.is_set()
        and not conn.synced_pending
        and conn.direct.empty()
        and _caught_up(conn)
        and _buffer_small(conn)
    )


def _caught_up(conn: Conn) -> bool:
    """Whether ``conn`` has been sent every event of its room (or has joined none)."""
    return conn.room is None or conn.cursor >= conn.room.head


def _buffer_small(conn: Conn) -> bool:
    """Whether ``conn`` may be written to without waiting: its transport is not paused (over
    websockets' high-water mark, which the stall watchdog relies on: a paused socket is given
    nothing more) and holds little."""
    transport = conn.ws.transport
    return (
        transport is not None
        and not getattr(conn.ws, "paused", False)
        and transport.get_write_buffer_size() < FAST_PATH_BUFFER
    )
