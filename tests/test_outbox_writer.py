"""The outbox is written off the event loop, in order, and a command reaches the hub only once
it is on disk (issue 24: the line shows as pending at once, and a kill still loses nothing).

The disk here is made slow on purpose: the real store writes the real file, after waiting for a
gate the test opens. The hub is real.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path

from tests.helpers import client, declared
from warroom.client.outbox import OutboxStore
from warroom.client.outbox_writer import OutboxWriter
from warroom.client.sync import IncidentClient
from warroom.core.incident import NoteAdded
from warroom.core.log import parse_event


class SlowDisk(OutboxStore):
    """The real outbox file, written only once the test opens ``gate`` (a slow disk)."""

    def __init__(self, directory: Path, hub: str, incident: str, name: str) -> None:
        super().__init__(directory, hub, incident, name)
        self.gate = threading.Event()
        #: The texts the file held after each write, in the order of the writes.
        self.writes: list[list[str]] = []
        self.thread_names: set[str] = set()

    def save(self, commands):  # noqa: ANN001, ANN201
        self.gate.wait(3)  # never forever: the code before this change would wait here
        super().save(commands)
        self.writes.append([c.text for c in commands])
        self.thread_names.add(threading.current_thread().name)


def note(text: str, incident: str = "inc-x"):
    return parse_event(
        {"type": "note_added", "id": str(uuid.uuid4()), "incident_id": incident, "text": text}
    )


async def test_a_posted_line_is_pending_at_once_and_goes_to_the_hub_only_once_on_disk(tmp_path):
    async with declared(tmp_path) as (hub, incident, _clock):
        disk = SlowDisk(tmp_path / "outbox", hub.url, incident, "sam")
        sam = await client(hub.url, "sam", "scribe", incident, store=disk)
        try:
            changes: list[str] = []
            sam.subscribe(lambda change: changes.append(change.kind))
            started = time.monotonic()
            reply = sam.send(NoteAdded(text="rolled back checkout-api"))
            # The disk is held for 3 s: returning well before that means it was not waited for.
            assert time.monotonic() - started < 2.0, "Enter does not wait for the disk"
            assert changes == ["pending"] and len(sam.outbox) == 1, "pending at once"

            await asyncio.sleep(0.3)  # the hub answers a note in a few ms, had it been sent
            assert not reply.done(), "nothing goes to the hub before it is on disk"
            assert sam.state.note_count == 0 and disk.writes == []

            disk.gate.set()
            ack = await asyncio.wait_for(reply, 5)
            assert ack.op == "ack"
            assert disk.writes[0] == ["rolled back checkout-api"], "on disk before the hub had it"
            assert "MainThread" not in disk.thread_names, "written off the event loop"
            await sam.wait_for_seq(ack.seq)
            assert sam.state.note_count == 1, "stored once"
        finally:
            await sam.close()
        assert not any(disk.directory.glob("*.json")), "acknowledged: no file left"


async def test_commands_made_while_the_disk_is_slow_go_out_in_the_order_they_were_made(tmp_path):
    async with declared(tmp_path) as (hub, incident, _clock):
        disk = SlowDisk(tmp_path / "outbox", hub.url, incident, "sam")
        sam = await client(hub.url, "sam", "scribe", incident, store=disk)
        try:
            texts = [f"step {i}" for i in range(5)]
            replies = [sam.send(NoteAdded(text=t)) for t in texts]
            disk.gate.set()
            acks = await asyncio.wait_for(asyncio.gather(*replies), 5)
            assert [a.op for a in acks] == ["ack"] * 5
            assert [a.seq for a in acks] == sorted(a.seq for a in acks), "stored in order"
            # The first write holds what was typed by then, in order; a later one all of it
            # (and after the acks, what is left).
            assert disk.writes[0] == texts[: len(disk.writes[0])]
            assert texts in disk.writes
        finally:
            await sam.close()


async def test_the_writer_applies_snapshots_in_order_and_skips_those_superseded(tmp_path):
    disk = SlowDisk(tmp_path / "outbox", "ws://hub", "inc-x", "sam")
    disk.open()
    writer = OutboxWriter(disk, lambda problem: None)
    a, b, c = note("a"), note("b"), note("c")
    done = [writer.save([a]), writer.save([a, b]), writer.save([a, b, c]), writer.save([b, c])]
    await asyncio.sleep(0.05)
    assert not any(d.done() for d in done), "nothing is done before the disk is"
    disk.gate.set()
    await asyncio.wait_for(asyncio.gather(*done), 5)
    # The first write may have started before the others came; the ones queued behind it are
    # replaced by the newest, which is the one on disk.
    assert disk.writes[-1] == ["b", "c"] and len(disk.writes) <= 2
    writer.close()
    disk.close()
    assert [c.text for c in OutboxStore(disk.directory, "ws://hub", "inc-x", "sam").open().commands] == ["b", "c"]  # fmt: skip


async def test_closing_a_client_writes_what_is_still_queued(tmp_path):
    """Quitting (or leaving the incident) waits for the writes in hand: nothing typed is lost."""
    disk = SlowDisk(tmp_path / "outbox", "ws://127.0.0.1:9", "inc-x", "sam")
    # No hub at all: the client only keeps its outbox.
    sam = IncidentClient("ws://127.0.0.1:9", "sam", "scribe", "inc-x", store=disk)
    sam.start()
    for text in ("one", "two", "three"):
        sam.send(NoteAdded(text=text))
    threading.Timer(0.2, disk.gate.set).start()
    await sam.close()
    assert disk.writes[-1] == ["one", "two", "three"]
    restored = OutboxStore(disk.directory, "ws://127.0.0.1:9", "inc-x", "sam").open()
    assert [c.text for c in restored.commands] == ["one", "two", "three"]
