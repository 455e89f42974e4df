"""Writing one message to many consoles with the websocket framing done once.

A frame from server to client is not masked, so for every connection without a compression
extension the bytes on the wire are the same: the header and the UTF-8 payload. ``websockets``'
own ``broadcast`` builds and serialises that frame again for each connection; at a few hundred
consoles that repeated framing is a fifth of the hub's fan-out CPU. Here the frame is serialised
once and its bytes written to each plain connection's transport, after the same checks
``broadcast`` makes (open, no fragmented message under way). A connection that negotiated
compression gets its frame through ``websockets`` as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.frames import Frame, Opcode
from websockets.protocol import State

log = logging.getLogger("warroom.hub")


def text_frame_bytes(message: str) -> bytes:
    """The wire bytes of ``message`` as one unmasked, uncompressed text frame."""
    return Frame(Opcode.TEXT, message.encode()).serialize(mask=False, extensions=[])


def plain(ws: ServerConnection) -> bool:
    """Whether ``ws`` may take pre-framed bytes now: open, uncompressed, between messages, and
    with nothing of its own waiting to be flushed (so the bytes go out in order)."""
    protocol = ws.protocol
    return (
        protocol.state is State.OPEN
        and not protocol.extensions
        and ws.send_in_progress is None
        and not protocol.expect_continuation_frame
        and not protocol.writes
        and ws.transport is not None
    )


def send_text(sockets: Iterable[ServerConnection], message: str, wire: bytes | None = None) -> None:
    """Send ``message`` to every open connection in ``sockets`` without waiting, as
    ``websockets.broadcast`` does (no back-pressure: callers check the buffers first).

    ``wire`` is the message's frame from :func:`text_frame_bytes` when the caller already has
    it. A connection that cannot take it (compressed, closing) is left to ``broadcast``, which
    frames it on its own or skips it if it is no longer open.
    """
    others: list[ServerConnection] = []
    for ws in sockets:
        if not plain(ws):
            others.append(ws)
            continue
        if wire is None:
            wire = text_frame_bytes(message)
        try:
            ws.transport.write(wire)
        except Exception:  # as broadcast does: a failed write is that connection's problem
            log.debug("write to a console failed", exc_info=True)
    if others:
        broadcast(others, message)
