"""Chaos: twenty consoles post while the hub process is SIGKILLed and restarted and links drop.

At the end every acknowledged event is stored exactly once at the seq it was acknowledged with,
every command any console ever queued is stored exactly once (no outbox command lost or
doubled), and every console's log is the hub's log, event for event.

``WARROOM_LONG_TESTS=1`` runs it for a minute with a dozen kills; ``WARROOM_FUZZ_REPORT=FILE``
appends the figures (commands, acks, kills, dropped links, events lost) to FILE.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sqlite3
import time
import uuid
from collections import Counter

from warroom.hub.storage import Store
from websockets.asyncio.client import connect

from tests.helpers import HubProcess, declare_incident, eventually, fast_backoff, running_hub
from tests.test_fuzz_support import LONG, state_hash
from warroom.client.backoff import Backoff
from warroom.client.sync import IncidentClient
from warroom.core.fold import replay
from warroom.core.incident import NoteAdded
from warroom.core.protocol import Ack

CONSOLES = 20
SECONDS = 60.0 if LONG else 8.0
KILLS = 12 if LONG else 3
#: Most commands one console has in flight (unacknowledged) at once.
IN_FLIGHT = 4


def stored_count(db) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]


def stored_events(db, incident: str) -> list:
    store = Store(db)
    try:
        return list(store.events(incident))
    finally:
        store.db.conn.close()


class Chaos:
    """The harness: posting consoles, a killer of the hub, a dropper of links, and the tally."""

    #: Seconds a console waits between two posts, and between two dropped links (at random).
    between_posts = (0.0, 0.06)
    between_drops = (0.05, 0.25)

    def __init__(self, hub: HubProcess, consoles: list[IncidentClient], seconds: float) -> None:
        self.hub = hub
        self.consoles = consoles
        self.deadline = time.monotonic() + seconds
        self.rng = random.Random(os.environ.get("WARROOM_CHAOS_SEED", "warroom"))
        self.queued: dict[str, list[uuid.UUID]] = {c.name: [] for c in consoles}
        self.acks: dict[uuid.UUID, Ack] = {}
        self.figures: Counter[str] = Counter()

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    async def post(self, console: IncidentClient) -> None:
        n = 0
        while self.running():
            if len(console.pending) >= IN_FLIGHT:
                await asyncio.sleep(0.02)
                continue
            command = NoteAdded(text=f"{console.name} #{n}")
            self.queued[console.name].append(command.id)
            console.send(command).add_done_callback(self._settled)
            self.figures["commands"] += 1
            n += 1
            await asyncio.sleep(self.rng.uniform(*self.between_posts))

    def _settled(self, future: asyncio.Future) -> None:
        reply = future.result()
        assert isinstance(reply, Ack), f"a note was refused: {reply}"
        self.acks[reply.id] = reply
        self.figures["duplicate_acks"] += reply.duplicate

    async def kill_and_restart(self, kills: int) -> None:
        pause = (self.deadline - time.monotonic()) / (kills + 1)
        for _ in range(kills):
            await asyncio.sleep(self.rng.uniform(0.5, 1.0) * pause)
            self.hub.kill()  # SIGKILL: no flush, no goodbye
            self.figures["hub_kills"] += 1
            await asyncio.sleep(self.rng.uniform(0.05, 0.4))
            await asyncio.to_thread(self.hub.start)

    def check_record(self, stored: list) -> tuple[list, list]:
        """Assert that the stored log lost and doubled nothing the consoles queued: gap-free,
        each event once, each acknowledged one at the seq its ack named, each queued note once.
        Returns ``(notes, lost)``."""
        by_id = {e.id: e for e in stored}
        assert [e.seq for e in stored] == list(range(1, len(stored) + 1)), "seq has a gap"
        assert len(by_id) == len(stored), "an event was stored twice"
        queued = [i for ids in self.queued.values() for i in ids]
        lost = [i for i in queued if i not in by_id]
        assert not lost, f"{len(lost)} queued commands were lost"
        for command_id, ack in self.acks.items():
            assert by_id[command_id].seq == ack.seq, "an acknowledged event moved"
        notes = [e for e in stored if e.type == "note_added"]
        assert sorted(e.id for e in notes) == sorted(queued), "a command was lost or doubled"
        return notes, lost

    async def drop_links(self) -> None:
        while self.running():
            await asyncio.sleep(self.rng.uniform(*self.between_drops))
            ws = self.rng.choice(self.consoles)._ws
            if ws is not None and ws.transport is not None:
                ws.transport.abort()  # the network vanishes under one console
                self.figures["links_dropped"] += 1


async def test_twenty_consoles_through_hub_kills_and_dropped_links_lose_nothing(tmp_path):
    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    await asyncio.to_thread(hub.start)
    consoles: list[IncidentClient] = []
    try:
        incident = await declare_incident(hub.url)
        consoles = [
            IncidentClient(hub.url, f"p{i:02d}", "responder", incident, backoff=fast_backoff())
            for i in range(CONSOLES)
        ]
        for console in consoles:
            console.start()
        for console in consoles:
            await console.wait_synced(timeout=20)

        chaos = Chaos(hub, consoles, SECONDS)
        started = time.monotonic()
        await asyncio.gather(
            *(chaos.post(c) for c in consoles), chaos.kill_and_restart(KILLS), chaos.drop_links()
        )
        # Let every console come back and empty its outbox, then stop the hub cleanly.
        await eventually(
            lambda: all(c.status == "live" and not c.pending for c in consoles), timeout=60
        )
        queued = [i for ids in chaos.queued.values() for i in ids]
        await eventually(lambda: len(chaos.acks) == len(queued), timeout=30)
        await eventually(lambda: all(c.last_seq == stored_count(db) for c in consoles), timeout=30)
        served = stored_events(db, incident)  # the hub's log, read while it serves it
        for console in consoles:
            assert [(e.id, e.seq) for e in console.log] == [(e.id, e.seq) for e in served]
            assert state_hash(console.state) == state_hash(replay(served))
        for console in consoles:
            await console.close()
        assert await hub.terminate() == 0
        elapsed = time.monotonic() - started

        stored = stored_events(db, incident)
        assert stored[: len(served)] == served  # after it: only the consoles' departures
        assert {e.type for e in stored[len(served) :]} <= {"participant_left"}
        notes, lost = chaos.check_record(stored)

        chaos.figures.update(
            events_stored=len(stored),
            notes_stored=len(notes),
            events_lost=len(lost),
            seconds=round(elapsed),
        )
        assert chaos.figures["hub_kills"] == KILLS and chaos.figures["links_dropped"] > 0
        report = os.environ.get("WARROOM_FUZZ_REPORT")
        if report:
            with open(report, "a") as fh:
                fh.write(json.dumps({"chaos": dict(chaos.figures)}) + "\n")
    finally:
        for console in consoles:
            await console.close()
        if hub.proc is not None and hub.proc.poll() is None:
            hub.kill()


class SteadyBackoff(Backoff):
    """Reconnects after exactly ``delay`` seconds, so a test can act before the console does."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def next_delay(self) -> float:
        return self.delay


async def test_a_command_stored_before_its_link_dropped_is_settled_by_the_replay(tmp_path):
    """Regression (found by the chaos run): a command whose event reached the hub but whose ack
    was lost with the link was dropped from the outbox by the replay, never re-sent, and its
    future never completed, so whoever awaited it (the console's post) waited forever."""
    db = tmp_path / "hub.db"
    async with running_hub(db) as hub:
        port = hub.port
        incident = await declare_incident(hub.url)
        ana = IncidentClient(hub.url, "ana", "ic", incident, backoff=SteadyBackoff(1.5))
        ana.start()
        await ana.wait_synced()
    await eventually(lambda: ana.status == "reconnecting")
    command = NoteAdded(incident_id=incident, text="typed just as the link died")
    future = ana.send(command)
    async with running_hub(db, port=port) as hub:
        # What ana's transmission did just before the drop: stored, but the ack never came back.
        body = command.command_body()
        async with connect(hub.url) as ws:
            await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": "ana", "role": "ic"}))
            await ws.send(json.dumps({"op": "join", "incident": incident, "since": 0}))
            await ws.send(json.dumps({"op": "command", "command": body}))
            while (reply := json.loads(await asyncio.wait_for(ws.recv(), 10)))["op"] != "ack":
                assert reply["op"] != "error", reply
        assert ana.status == "reconnecting", "the console came back too early for this test"
        settled = await asyncio.wait_for(future, 10)
        assert settled.op == "ack" and settled.seq == reply["seq"]
        assert not ana.pending
        assert [e.id for e in ana.log].count(command.id) == 1
        assert hub.store.count(incident) == ana.last_seq
        await ana.close()
