"""Issue 24: the hub frames each event once and writes those bytes to every plain console.

The tests read raw websocket frames with a real client, as an outside console would: if the
hub's hand-built frames were wrong (a length field, a flag, an encoding), the client would fail
to decode them or read different text. A console that negotiated compression must still get
every frame, compressed by ``websockets`` itself, in the same order.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from warroom.hub.hub import HubLimits
from warroom.hub.wire import text_frame_bytes
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode

from tests.helpers import declare_incident, running_hub

UNLIMITED = HubLimits(rate=0, credential_rate=0)
#: Texts of many lengths (one-byte and two-byte length fields) and non-ASCII text.
TEXTS = [
    "ok",
    "x" * 60,
    "rolled back é → ✓ 🚒" * 3,
    "y" * 200,
    "z" * 3000,
    "the payment gateway times out" + "!" * 10,
]


async def _open(url: str, name: str, role: str, compressed: bool) -> ClientConnection:
    ws = await connect(url, compression="deflate" if compressed else None, max_size=None)
    await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": name, "role": role}))
    return ws


async def _frames_until(ws: ClientConnection, done: Any, timeout: float = 10.0) -> list[dict]:
    seen: list[dict] = []
    while not seen or not done(seen[-1]):
        raw = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(raw, str), "every hub message is a text frame"
        seen.append(json.loads(raw))
    return seen


def test_a_hand_built_frame_is_the_frame_websockets_would_send():
    for text in [*TEXTS, "w" * 70_000]:
        wire = text_frame_bytes(text)
        expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
        assert wire == expected
        length = len(text.encode())
        header = 2 if length < 126 else 4 if length < 65536 else 10
        assert len(wire) == header + length and wire[0] == 0x81  # FIN, text, no RSV bits


async def test_plain_and_compressed_consoles_read_the_same_frames_in_order(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED, compression=True) as hub:
        incident = await declare_incident(hub.url)
        people = {"ana": ("ic", False), "bo": ("responder", True), "cy": ("responder", False)}
        conns: dict[str, ClientConnection] = {}
        for name, (role, compressed) in people.items():
            ws = await _open(hub.url, name, role, compressed)
            await _frames_until(ws, lambda m: m["op"] == "welcome")
            await ws.send(json.dumps({"op": "join", "incident": incident, "since": 0}))
            await _frames_until(ws, lambda m: m["op"] == "synced")
            conns[name] = ws
        assert conns["bo"].protocol.extensions, "bo asked for compression and must have it"
        assert not conns["cy"].protocol.extensions

        ids = [str(uuid.uuid4()) for _ in TEXTS]
        for cid, text in zip(ids, TEXTS, strict=True):
            body = {"type": "note_added", "id": cid, "text": text}
            await conns["ana"].send(json.dumps({"op": "command", "command": body}))

        last = ids[-1]
        read = {
            name: await _frames_until(
                ws, lambda m, cid=last: m["op"] == "event" and m["event"]["id"] == cid
            )
            for name, ws in conns.items()
        }
        notes = {
            name: [m for m in frames if m["op"] == "event" and m["event"]["type"] == "note_added"]
            for name, frames in read.items()
        }
        assert [m["event"]["text"] for m in notes["cy"]] == TEXTS
        assert notes["ana"] == notes["bo"] == notes["cy"]
        seqs = [m["event"]["seq"] for m in notes["cy"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(TEXTS)
        # The poster's acks came too, each after its own event (stored, then served).
        acks = (
            await _frames_until(conns["ana"], lambda m: m["op"] == "ack" and m["id"] == last)
            if not any(m["op"] == "ack" and m["id"] == last for m in read["ana"])
            else []
        )
        order = [m for m in read["ana"] + acks if m["op"] in ("ack", "event")]
        for cid in ids:
            event_at = next(i for i, m in enumerate(order) if m.get("event", {}).get("id") == cid)
            ack_at = next(i for i, m in enumerate(order) if m["op"] == "ack" and m["id"] == cid)
            assert event_at < ack_at
        for ws in conns.values():
            await ws.close()


async def test_a_history_page_over_64_kib_reaches_a_plain_console_whole(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED) as hub:
        incident = await declare_incident(hub.url)
        ana = await _open(hub.url, "ana", "ic", compressed=False)
        await _frames_until(ana, lambda m: m["op"] == "welcome")
        await ana.send(json.dumps({"op": "join", "incident": incident, "since": 0}))
        await _frames_until(ana, lambda m: m["op"] == "synced")
        for i in range(40):
            body = {"type": "note_added", "id": str(uuid.uuid4()), "text": f"{i:02d} " + "é" * 2000}
            await ana.send(json.dumps({"op": "command", "command": body}))
        last = await _frames_until(
            ana, lambda m: m["op"] == "event" and m["event"]["text"].startswith("39 ")
        )
        before = last[-1]["event"]["seq"] + 1
        # Idle and caught up, the connection is written the page at once (no sender turn).
        await ana.send(
            json.dumps({"op": "history", "incident": incident, "before": before, "limit": 500})
        )
        page = (await _frames_until(ana, lambda m: m["op"] == "history_page"))[-1]
        assert len(json.dumps(page, ensure_ascii=False).encode()) > 65_536
        texts = [e["text"] for e in page["events"] if e["type"] == "note_added"]
        assert [t[:2] for t in texts] == [f"{i:02d}" for i in range(40)]
        assert all(t.endswith("é" * 2000) for t in texts)
        await ana.close()
