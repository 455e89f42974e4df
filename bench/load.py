"""Load generators that run in their own processes: listeners that time every frame they get, and
writers that post timeline notes, paced or as fast as acknowledgements allow.

The same code drives the hub and the bare relay, so the only difference between the two runs is
the server. A writer stamps ``time.monotonic_ns()`` into each note's text at the moment it sends
it; a listener reads the stamp back out of the frame with a string search (no JSON parsing, the
same cost for both servers) and records the delay. For the bare relay the writer sends a frame
shaped and sized exactly like the event frame the hub broadcasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.common import raise_fd_limit, run_loop

#: Start of the stamp inside a note: ``#t<19 digits ns>k<7 digits index>w<3 digits writer>#``.
STAMP = "#t"
_WORDS = [
    "checkout",
    "api",
    "latency",
    "p99",
    "spiked",
    "after",
    "deploy",
    "v42",
    "rollback",
    "started",
    "canary",
    "pods",
    "restarting",
    "error",
    "budget",
    "burn",
    "database",
    "primary",
    "failover",
    "replica",
    "lag",
    "queue",
    "depth",
    "consumer",
    "stalled",
    "cache",
    "hit",
    "ratio",
    "dropped",
    "region",
    "east",
    "west",
    "load",
    "balancer",
    "health",
    "checks",
    "flapping",
    "dns",
    "ttl",
    "feature",
    "flag",
    "disabled",
    "customers",
    "report",
    "timeouts",
    "mitigation",
    "confirmed",
    "graphs",
    "recovering",
]
NOTE_BYTES = 300


@dataclass
class LoadConfig:
    """What one load process does; plain data so it crosses the process boundary."""

    url: str
    kind: str  # "hub" | "bare"
    incident: str
    compression: bool = True
    #: Run this load process on uvloop (normally off: only the server under test varies).
    uvloop: bool = False
    index: int = 0
    connections: int = 1
    #: Notes per writer (paced mode) whose latency counts after ``warmup`` ones.
    total: int = 0
    warmup: int = 0
    rate: float = 50.0
    #: Closed-loop writers: post for this many seconds, each waiting for its ack.
    duration: float = 10.0
    closed_loop: bool = False
    #: Seconds listeners keep reading after the writers' window (to drain what is in flight).
    grace: float = 5.0
    ready_timeout: float = 120.0


def note_text(stamp_ns: int, k: int, writer: int) -> str:
    """A ~300-byte timeline note carrying its send time; words vary so compression is honest."""
    rng = random.Random(k * 1009 + writer)
    head = f"{STAMP}{stamp_ns:019d}k{k:07d}w{writer:03d}# "
    words = [head]
    size = len(head)
    while size < NOTE_BYTES:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:NOTE_BYTES]


def read_stamp(frame: str | bytes) -> tuple[int, int, int] | None:
    """(send ns, index, writer) from a frame carrying a note stamp, else None.

    Works on the raw bytes too, so a listener need not even decode the frame as UTF-8.
    """
    i = frame.find(b"#t" if isinstance(frame, bytes) else STAMP)  # type: ignore[arg-type]
    if i < 0:
        return None
    try:
        return int(frame[i + 2 : i + 21]), int(frame[i + 22 : i + 29]), int(frame[i + 30 : i + 33])
    except ValueError:
        return None


def command_frame(kind: str, incident: str, writer: int, k: int, name: str) -> tuple[str, str]:
    """(frame, id) for note ``k`` of ``writer``, stamped now."""
    event_id = str(uuid.uuid4())
    text = note_text(time.monotonic_ns(), k, writer)
    if kind == "hub":
        body = {
            "type": "note_added",
            "id": event_id,
            "incident_id": incident,
            "text": text,
            "kind": "note",
        }
        return json.dumps({"op": "command", "command": body}, separators=(",", ":")), event_id
    # The bare relay forwards bytes as they are: send what the hub would have broadcast.
    event = {
        "type": "note_added",
        "id": event_id,
        "incident_id": incident,
        "seq": k + 1,
        "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "actor": name,
        "role": "responder",
        "text": text,
        "kind": "note",
    }
    return json.dumps({"op": "event", "event": event}, separators=(",", ":")), event_id


async def open_conn(cfg: LoadConfig, name: str, role: str, presence: bool) -> ClientConnection:
    """Connect (and for the hub say hello, join, and wait for ``synced``)."""
    ws = await connect(
        cfg.url,
        compression="deflate" if cfg.compression else None,
        max_size=None,
        open_timeout=60,
        ping_interval=None,
        close_timeout=2,
    )
    if cfg.kind != "hub":
        return ws
    await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": name, "role": role}))
    await ws.send(
        json.dumps({"op": "join", "incident": cfg.incident, "since": 0, "presence": presence})
    )
    async with asyncio.timeout(cfg.ready_timeout):
        async for raw in ws:
            if isinstance(raw, str) and raw.startswith('{"op":"synced"'):
                return ws
            if isinstance(raw, str) and raw.startswith('{"op":"error"'):
                raise RuntimeError(f"hub refused {name}: {raw}")
    raise RuntimeError(f"hub closed the connection of {name} before synced")


async def open_many(
    cfg: LoadConfig, prefix: str, role: str, presence: bool, count: int
) -> list[ClientConnection]:
    """Open ``count`` connections, at most 25 handshakes at a time (a burst of hundreds of
    simultaneous handshakes measures the accept queue, not the server)."""
    gate = asyncio.Semaphore(25)

    async def one(i: int) -> ClientConnection:
        async with gate:
            return await open_conn(cfg, f"{prefix}{cfg.index}-{i}", role, presence)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def close_all(conns: list[ClientConnection]) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(
            asyncio.gather(*(c.close() for c in conns), return_exceptions=True), 10
        )


def _wait_event(go: Any, timeout: float) -> bool:
    return bool(go.wait(timeout))


# --- listeners --------------------------------------------------------------------------------
def listener_proc(cfg: LoadConfig, ready_q: Any, result_q: Any, go: Any, window_end: Any) -> None:
    """Process entry: ``cfg.connections`` listeners; reports latencies (us) and counts."""
    raise_fd_limit()
    try:
        result = run_loop(_listen(cfg, ready_q, go, window_end), cfg.uvloop)
    except Exception as exc:  # report, so the orchestrator does not wait for nothing
        ready_q.put(("failed", cfg.index, repr(exc)))
        result = {"error": repr(exc), "index": cfg.index}
    result_q.put(("listener", result))


async def _listen(cfg: LoadConfig, ready_q: Any, go: Any, window_end: Any) -> dict[str, Any]:
    conns = await open_many(cfg, "listener-", "observer", False, cfg.connections)
    ready_q.put(("ready", cfg.index, None))
    if not await asyncio.to_thread(_wait_event, go, cfg.ready_timeout):
        await close_all(conns)
        return {"error": "never told to start", "index": cfg.index}
    end_ns = window_end.value
    cpu0 = time.process_time()
    latencies = array("q")
    counts: list[int] = []
    in_window: list[int] = []
    expected = cfg.total  # 0 = read until the deadline (throughput)
    deadline = asyncio.get_running_loop().time() + cfg.duration + cfg.grace

    async def read(ws: ClientConnection) -> None:
        got = 0
        early = 0
        try:
            async with asyncio.timeout_at(deadline):
                # Bounded by the deadline and by ``expected``; bytes: no UTF-8 decoding cost.
                while True:
                    raw = await ws.recv(decode=False)
                    now = time.monotonic_ns()
                    stamp = read_stamp(raw)
                    if stamp is None:
                        continue
                    got += 1
                    if now <= end_ns:
                        early += 1
                    if stamp[1] >= cfg.warmup:
                        latencies.append((now - stamp[0]) // 1000)
                    if expected and got >= expected:
                        break
        except (TimeoutError, ConnectionClosed):
            pass
        counts.append(got)
        in_window.append(early)

    await asyncio.gather(*(read(ws) for ws in conns))
    await close_all(conns)
    return {
        "index": cfg.index,
        "latencies_us": latencies.tobytes(),
        "counts": counts,
        "in_window": in_window,
        # This load process's own CPU: with the server's, it shows how busy the machine was.
        "cpu_s": time.process_time() - cpu0,
    }


# --- writers ----------------------------------------------------------------------------------
def writer_proc(cfg: LoadConfig, ready_q: Any, result_q: Any, go: Any, window_end: Any) -> None:
    """Process entry: ``cfg.connections`` writers, paced (``rate``) or closed-loop."""
    raise_fd_limit()
    try:
        result = run_loop(_write(cfg, ready_q, go, window_end), cfg.uvloop)
    except Exception as exc:
        ready_q.put(("failed", cfg.index, repr(exc)))
        result = {"error": repr(exc), "index": cfg.index}
    result_q.put(("writer", result))


class _Writer:
    """One writer connection: sends notes and matches each with its ack (or, on the bare
    relay, with its own frame coming back, which is the relay's only sign of acceptance)."""

    def __init__(self, cfg: LoadConfig, ws: ClientConnection, number: int, name: str) -> None:
        self.cfg, self.ws, self.number, self.name = cfg, ws, number, name
        self.waiting: dict[str, asyncio.Future[bool]] = {}
        #: Send time of each note in flight, and how long each took to be acknowledged (us):
        #: on the hub, the time to validate and durably commit, before any broadcast.
        self.sent_at: dict[str, int] = {}
        self.ack_us: list[int] = []
        self.by_k: dict[int, str] = {}
        self.acked_ids: list[str] = []
        self.max_seq = 0
        self.errors: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                if self.cfg.kind == "hub":
                    if not isinstance(raw, str) or raw.startswith('{"op":"event"'):
                        continue
                    msg = json.loads(raw)
                    if msg.get("op") == "ack":
                        self.max_seq = max(self.max_seq, msg["seq"])
                        self._settle(msg["id"], True)
                    elif msg.get("op") == "error":
                        self.errors.append(msg.get("message", raw))
                        self._settle(msg.get("id") or "", False)
                else:
                    stamp = read_stamp(raw)
                    if stamp is not None and stamp[2] == self.number:
                        self._settle(self.by_k.pop(stamp[1], ""), True)

    def _settle(self, event_id: str, ok: bool) -> None:
        sent = self.sent_at.pop(event_id, None)
        if sent is not None and ok:
            self.ack_us.append((time.monotonic_ns() - sent) // 1000)
        fut = self.waiting.pop(event_id, None)
        if ok:
            self.acked_ids.append(event_id)
        if fut is not None and not fut.done():
            fut.set_result(ok)

    def send(self, k: int) -> asyncio.Future[bool]:
        frame, event_id = command_frame(self.cfg.kind, self.cfg.incident, self.number, k, self.name)
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting[event_id] = fut
        self.sent_at[event_id] = time.monotonic_ns()
        self.by_k[k] = event_id
        asyncio.get_running_loop().create_task(self.ws.send(frame))
        return fut


async def _write(cfg: LoadConfig, ready_q: Any, go: Any, window_end: Any) -> dict[str, Any]:
    conns = await open_many(cfg, "writer-", "responder", True, cfg.connections)
    writers = [
        _Writer(cfg, ws, cfg.index * 10 + i, f"writer-{cfg.index}-{i}")
        for i, ws in enumerate(conns)
    ]
    ready_q.put(("ready", cfg.index, None))
    if not await asyncio.to_thread(_wait_event, go, cfg.ready_timeout):
        await close_all(conns)
        return {"error": "never told to start", "index": cfg.index}
    if cfg.closed_loop:
        done = await asyncio.gather(*(_closed_loop(w, window_end.value) for w in writers))
        lateness: list[int] = []
    else:
        lateness = await _paced(writers[0], cfg)
        done = [len(writers[0].acked_ids)]
    # Let the last replies arrive before closing (bounded).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while any(w.waiting for w in writers):
                await asyncio.sleep(0.05)
    for w in writers:
        w.reader.cancel()
    await close_all(conns)
    return {
        "index": cfg.index,
        "in_window": [int(n) for n in done],
        "acked": sum(len(w.acked_ids) for w in writers),
        "acked_ids": [i for w in writers for i in w.acked_ids],
        "max_seq": max((w.max_seq for w in writers), default=0),
        "errors": [e for w in writers for e in w.errors][:5],
        "error_count": sum(len(w.errors) for w in writers),
        "lateness_us": lateness,
        "ack_us": [us for w in writers for us in w.ack_us],
    }


async def _paced(w: _Writer, cfg: LoadConfig) -> list[int]:
    """Send ``warmup + total`` notes at ``rate`` per second on a fixed schedule; returns how
    late each send was (us), which shows whether the writer itself kept up."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    lateness = []
    for k in range(cfg.warmup + cfg.total):
        due = start + k / cfg.rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(int((loop.time() - due) * 1e6))
        w.send(k)
    return lateness


async def _closed_loop(w: _Writer, end_ns: int) -> int:
    """Post, wait for the ack, post again, until the window closes; returns the acks in it."""
    acked = 0
    k = 0
    while time.monotonic_ns() < end_ns and k < 10_000_000:
        left = (end_ns - time.monotonic_ns()) / 1e9
        try:
            ok = await asyncio.wait_for(w.send(k), timeout=max(left, 0.001) + 5)
        except TimeoutError:
            break
        if ok and time.monotonic_ns() <= end_ns:
            acked += 1
        k += 1
    return acked
