"""A hub that holds what is live: checkpoints, open incidents at start, closed ones on demand,
a bounded tail of frames, recent command ids in memory and older ones looked up.

Real hubs on 127.0.0.1 (in-process, and a subprocess killed with SIGKILL), real databases.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from warroom.hub.checkpoints import encode, fold_stamp
from warroom.hub.loading import MemoryLimits
from warroom.hub.rooms import RecentIds, Room, Stored
from warroom.hub.storage import SCHEMA_VERSION, LogReader, Store

from tests.helpers import (
    T0,
    HubProcess,
    client,
    declare_incident,
    eventually,
    make_event,
    running_hub,
)
from warroom.client.sync import IncidentClient
from warroom.core.clock import ManualClock
from warroom.core.corrections import EntryAmended
from warroom.core.fold import apply
from warroom.core.incident import NoteAdded
from warroom.core.lifecycle import PhaseChanged
from warroom.core.state import IncidentState


def full_fold(db: Path, incident: str) -> IncidentState:
    """The incident's state folded from its first stored event: what a checkpoint must equal."""
    reader = LogReader.read_only(db)
    try:
        state = IncidentState()
        for event in reader.events(incident):
            state = apply(state, event)
        return state
    finally:
        reader.close()


def checkpoint_row(db: Path, incident: str) -> tuple[int, str] | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT seq, stamp FROM checkpoints WHERE incident_id = ?", [incident]
        ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


async def notes(c, count: int, prefix: str = "note") -> list:
    acks = []
    for i in range(count):
        ack = await c.post(NoteAdded(text=f"{prefix} {i}"))
        assert ack.op == "ack", ack
        acks.append(ack)
    return acks


async def close_incident(ana, clock: ManualClock) -> None:
    for phase in ("triage", "mitigating", "monitoring"):
        clock.advance(timedelta(minutes=5))
        assert (await ana.post(PhaseChanged(phase=phase))).op == "ack"
    resolved = await ana.post(PhaseChanged(phase="resolved", resolution="Rolled back"))
    assert resolved.op == "ack"
    closed = await ana.post(PhaseChanged(phase="closed"))
    assert closed.op == "ack"


# --- the room's tail and the id index, on their own -----------------------------------------------
def test_a_room_keeps_a_bounded_tail_in_absolute_seq_terms():
    room = Room(incident_id="inc-tail", state=IncidentState(), tail_limit=3)
    for seq in range(1, 11):
        room.append(f"frame {seq}")
    assert room.head == 10
    assert len(room.frames) < 2 * 3 and room.base == 10 - len(room.frames)
    assert room.frames_after(10) == []
    assert room.frames_after(9) == ["frame 10"]
    assert room.frames_after(room.base) == [f"frame {s}" for s in range(room.base + 1, 11)]
    assert room.frames_after(room.base - 1) is None  # dropped from memory
    assert room.frames_after(0) is None
    assert room.frames_after(11) is None  # ahead of the room
    assert room.frame_after(9) == "frame 10" and room.frame_after(10) is None
    assert room.frame_after(0) is None


# --- checkpoints ----------------------------------------------------------------------------------
async def ana_declares(url: str) -> tuple[str, IncidentClient]:
    """A new incident on the hub at ``url``, and ana's client in it as its IC."""
    incident = await declare_incident(url)
    return incident, await client(url, "ana", "ic", incident)


async def test_restart_folds_only_the_events_after_the_checkpoint(tmp_path):
    db = tmp_path / "hub.db"
    memory = MemoryLimits(checkpoint_every=10)
    async with running_hub(db, memory=memory) as hub:
        incident, ana = await ana_declares(hub.url)
        await notes(ana, 25)
        head = hub.hub.rooms[incident].head
        # Written with the events every 10: the last one is 0-9 events behind the head.
        seq, stamp = checkpoint_row(db, incident) or (0, "")
        assert 10 <= seq <= head and head - seq < 10 and stamp == fold_stamp()
        await ana.close()
        await eventually(lambda: not hub.hub.rooms[incident].online)
        live_state = hub.hub.rooms[incident].state
        sent = hub.hub.rooms[incident].frames_after(live_state.seq - 8)
    # A clean stop checkpoints the head.
    assert checkpoint_row(db, incident) == (live_state.seq, fold_stamp())

    async with running_hub(db, memory=memory) as again:
        figures = again.hub.health()["memory"]
        assert figures["start_from_checkpoint"] == 1 and figures["start_folded"] == 0
        assert again.hub.rooms[incident].state == live_state == full_fold(db, incident)
        # The tail of frames is rebuilt from the log (kept as rows until first sent), so
        # resumes are served the very frames the first hub sent.
        assert again.hub.rooms[incident].head == live_state.seq
        assert not any(isinstance(f, str) for f in again.hub.rooms[incident].frames)
        assert again.hub.rooms[incident].frames_after(live_state.seq - 8) == sent
        assert sent is not None and len(sent) == 8


async def test_a_checkpoint_that_does_not_match_the_log_is_ignored(tmp_path):
    db = tmp_path / "hub.db"
    async with running_hub(db) as hub:
        incident, ana = await ana_declares(hub.url)
        await notes(ana, 5)
        await ana.close()
        await eventually(lambda: not hub.hub.rooms[incident].online)
    truth = full_fold(db, incident)
    lie = truth.model_copy(update={"title": "not what the log says"})
    ahead = lie.model_copy(update={"seq": truth.seq + 5})
    cases = {
        "ahead of the log": (ahead.seq, "whatever-id", fold_stamp(), encode(ahead)),
        "another event at its seq": (truth.seq, str(uuid.uuid4()), fold_stamp(), encode(lie)),
        "written by another fold": (truth.seq, None, "an-older-fold", encode(lie)),
        "unreadable": (truth.seq, None, fold_stamp(), "{not json"),
    }
    for why, (seq, event_id, stamp, state) in cases.items():
        with sqlite3.connect(db) as conn:
            real_id = conn.execute(
                "SELECT id FROM events WHERE incident_id = ? AND seq = ?", [incident, truth.seq]
            ).fetchone()[0]
            conn.execute(
                "UPDATE checkpoints SET seq = ?, event_id = ?, stamp = ?, state = ? "
                "WHERE incident_id = ?",
                [seq, event_id or real_id, stamp, state, incident],
            )
        async with running_hub(db, memory=MemoryLimits(checkpoint_every=0)) as hub:
            figures = hub.hub.health()["memory"]
            assert figures["start_from_checkpoint"] == 0, why
            assert figures["start_folded"] == truth.seq, why
            assert hub.hub.rooms[incident].state == truth, why
        # The clean stop replaced the bad checkpoint with a good one.
        assert checkpoint_row(db, incident) == (truth.seq, fold_stamp()), why


async def test_sigkill_between_checkpoints_loses_and_doubles_nothing(tmp_path):
    db = tmp_path / "hub.db"
    config = tmp_path / "hub.toml"
    config.write_text("[memory]\ncheckpoint_every = 7\n")
    hub = HubProcess(db, None, "--config", str(config))
    hub.start()
    try:
        incident = await declare_incident(hub.url)
        writers = [await client(hub.url, name, "responder", incident) for name in ("ana", "bo")]
        sent: list[NoteAdded] = []
        acked: list = []

        async def post_forever(c) -> None:
            i = 0
            while True:
                command = NoteAdded(text=f"{c.name} {i}")
                sent.append(command)
                reply = await c.send(command)
                if reply.op == "ack":
                    acked.append(reply)
                i += 1

        tasks = [asyncio.create_task(post_forever(c)) for c in writers]
        await eventually(lambda: len(acked) >= 60, timeout=20)
        hub.kill()  # SIGKILL: no clean-stop checkpoint, whatever was in flight is cut
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in writers:
            await c.close()
        acked_at_kill = {(str(a.id), a.seq) for a in acked}
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT id, seq FROM events WHERE incident_id = ? ORDER BY seq", [incident]
            ).fetchall()
        seq_at_checkpoint, _ = checkpoint_row(db, incident) or (0, "")
        head = rows[-1][1]
        assert 0 < head - seq_at_checkpoint < 7 or head == seq_at_checkpoint

        hub.start()
        health = httpx.get(f"http://127.0.0.1:{hub.port}/healthz").json()
        # Only the events after the last checkpoint were folded.
        assert health["memory"]["start_from_checkpoint"] == 1
        assert health["memory"]["start_folded"] == head - seq_at_checkpoint
        assert acked_at_kill <= {(r[0], r[1]) for r in rows}, "an acknowledged event was lost"
        # A retry of a command stored before the kill is recognised (looked up in the database).
        ana = await client(hub.url, "ana", "responder", incident)
        first_acked = next(a for a in acked if a.seq == min(s for _, s in acked_at_kill))
        retry = next(c for c in sent if c.id == first_acked.id)
        again = await ana.post(retry)
        assert again.op == "ack" and again.duplicate and again.seq == first_acked.seq
        fresh = await ana.post(NoteAdded(text="after the restart"))
        assert fresh.op == "ack" and not fresh.duplicate
        await ana.wait_for_seq(fresh.seq)
        assert ana.state == full_fold(db, incident)
        await ana.close()
        assert await hub.terminate() == 0
        with sqlite3.connect(db) as conn:
            ids = [
                r[0]
                for r in conn.execute("SELECT id FROM events WHERE incident_id = ?", [incident])
            ]
            seqs = [r[0] for r in conn.execute(
                "SELECT seq FROM events WHERE incident_id = ? ORDER BY seq", [incident]
            )]  # fmt: skip
        assert len(set(ids)) == len(ids), "an event was stored twice"
        assert seqs == list(range(1, len(seqs) + 1)), "seq has a gap"
    finally:
        hub.kill()


# --- closed incidents on demand -------------------------------------------------------------------
async def closed_by_ana(
    url: str, clock: ManualClock, title: str, notes_first: int = 0
) -> tuple[str, IncidentClient]:
    """An incident ana declared (with ``notes_first`` notes) and closed; her client still open."""
    closed = await declare_incident(url, title=title)
    ana = await client(url, "ana", "ic", closed)
    await notes(ana, notes_first)
    await close_incident(ana, clock)
    return closed, ana


async def test_a_closed_incident_is_loaded_on_join_and_dropped_when_nobody_follows(tmp_path):
    db = tmp_path / "hub.db"
    clock = ManualClock(T0)
    async with running_hub(db, clock=clock) as hub:
        closed, ana = await closed_by_ana(hub.url, clock, "Closed last week", notes_first=3)
        await ana.close()
        open_one = await declare_incident(hub.url, title="Still burning")
        await eventually(lambda: not hub.hub.rooms[closed].online)
        listed = {r["id"]: r for r in hub.hub.incident_list(include_closed=True)}
        closed_state = hub.hub.rooms[closed].state

    memory = MemoryLimits(unload_after=0)
    async with running_hub(db, clock=clock, memory=memory) as hub:
        # Only the open incident is loaded; the list still shows both, from the database.
        assert set(hub.hub.rooms) == {open_one}
        assert hub.hub.health()["incidents"] == 1
        assert [r["id"] for r in hub.hub.incident_list()] == [open_one]
        assert {r["id"]: r for r in hub.hub.incident_list(include_closed=True)} == listed
        async with httpx.AsyncClient() as http:
            base = hub.url.replace("ws://", "http://")
            every = (await http.get(f"{base}/incidents?all=1")).json()
        assert {r["id"] for r in every} == {closed, open_one}
        assert closed not in hub.hub.rooms  # listing it did not load it

        bo = await client(hub.url, "bo", "responder", closed)
        assert closed in hub.hub.rooms
        figures = hub.hub.health()["memory"]
        assert figures["loaded_on_demand"] == 1
        # Closing wrote a checkpoint: loading it folded nothing it had folded before.
        await eventually(lambda: bo.state.participants.get("bo") is not None)
        assert hub.hub.rooms[closed].state.phase == "closed"
        assert bo.state == hub.hub.rooms[closed].state
        assert closed_state.title == bo.state.title == "Closed last week"
        await bo.close()
        # The hub's sweeper drops it (every 50 ms here, unload_after=0) once bo has left.
        await eventually(lambda: closed not in hub.hub.rooms)
        assert closed not in hub.hub.rooms and open_one in hub.hub.rooms
        # Dropped with a checkpoint at its head: it comes back as it was.
        assert checkpoint_row(db, closed)[0] == full_fold(db, closed).seq  # type: ignore[index]
        room = await hub.hub.live.room(closed)
        assert room is not None and room.state == full_fold(db, closed)
        # A new incident may not take the id of a closed one that is not in memory.
        hub.hub.rooms.pop(closed)
        assert hub.hub.live.exists(closed)


async def test_the_state_of_a_closed_incident_not_in_memory_is_readable_over_http(tmp_path):
    """``GET /incidents/<id>/state`` loads a closed incident as a join does (a script reading
    last week's incident must not be told it does not exist)."""
    db = tmp_path / "hub.db"
    clock = ManualClock(T0)
    async with running_hub(db, clock=clock) as hub:
        closed, ana = await closed_by_ana(hub.url, clock, "Closed last week")
        await ana.close()
    async with running_hub(db, clock=clock) as hub:
        assert closed not in hub.hub.rooms
        async with httpx.AsyncClient() as http:
            base = hub.url.replace("ws://", "http://")
            answer = await http.get(f"{base}/incidents/{closed}/state")
        assert answer.status_code == 200, answer.text
        assert answer.json()["title"] == "Closed last week"
        assert answer.json()["phase"] == "closed"


# --- the idempotency index ------------------------------------------------------------------------
async def test_a_retry_older_than_the_ids_in_memory_is_still_a_duplicate(tmp_path):
    db = tmp_path / "hub.db"
    memory = MemoryLimits(recent_ids=5)
    async with running_hub(db, memory=memory) as hub:
        incident, ana = await ana_declares(hub.url)
        bo = await client(hub.url, "bo", "responder", incident)
        first = NoteAdded(text="the first note")
        ack = await ana.post(first)
        await notes(ana, 20)
        assert len(hub.hub.ids) <= 5 and hub.hub.ids.get(first.id) is None  # not in memory
        head = hub.hub.rooms[incident].head
        again = await ana.post(first)
        assert again.op == "ack" and again.duplicate and again.seq == ack.seq
        # Someone else re-using the id is refused, as for a recent id.
        stolen = await bo.post(first)
        assert stolen.op == "error" and stolen.code == "id_taken"
        assert hub.hub.rooms[incident].head == head  # nothing was written
        assert hub.hub.ids.found >= 1
        await ana.close()
        await bo.close()


async def test_fresh_command_ids_are_not_looked_up_in_the_database_one_hub_on_sqlite(tmp_path):
    """One hub owns its SQLite file: a fresh id is checked by the commit itself (the unique
    index on ``events.id``), not by a query on the event loop before it; a retry of an id stored
    long ago is still a duplicate (the commit fails, the batch is decided again knowing it)."""
    db = tmp_path / "hub.db"
    async with running_hub(db, memory=MemoryLimits(recent_ids=5)) as hub:
        incident, ana = await ana_declares(hub.url)
        first = NoteAdded(text="the first note")
        ack = await ana.post(first)
        await notes(ana, 20)
        assert hub.hub.ids.looked_up == 0  # no query for any of the 22 fresh ids
        head = hub.hub.rooms[incident].head
        again = await ana.post(first)
        assert again.op == "ack" and again.duplicate and again.seq == ack.seq
        assert hub.hub.ids.looked_up >= 1 and hub.hub.ids.found >= 1
        assert hub.hub.rooms[incident].head == head  # nothing was written
        after = await ana.post(NoteAdded(text="still writing"))
        assert after.op == "ack" and after.seq == head + 1
        assert hub.hub.write_failures == 0
        await ana.close()


# --- consoles behind the tail ---------------------------------------------------------------------
async def test_a_console_behind_the_tail_is_served_from_storage(tmp_path):
    db = tmp_path / "hub.db"
    async with running_hub(db, memory=MemoryLimits(tail_frames=4)) as hub:
        incident, ana = await ana_declares(hub.url)
        await notes(ana, 30)
        room = hub.hub.rooms[incident]
        assert len(room.frames) < 8 and room.frames_after(1) is None
        cy = await client(hub.url, "cy", "responder", incident)
        await cy.wait_for_seq(room.head)
        assert cy.state == room.state == full_fold(db, incident)
        await ana.close()
        await cy.close()


# --- corrections name entries the hub no longer holds ---------------------------------------------
async def test_an_amendment_names_an_entry_long_out_of_memory_and_one_of_the_same_batch(tmp_path):
    """The state keeps no index of entries: the hub reads the named entry from its frames, from
    storage (long out of the tail, and after a restart), or from the batch being written."""
    db = tmp_path / "hub.db"
    clock = ManualClock(T0)
    async with running_hub(db, clock=clock, memory=MemoryLimits(tail_frames=4)) as hub:
        incident, ana = await ana_declares(hub.url)
        first = (await notes(ana, 1, "wrong number"))[0].seq
        await notes(ana, 30)
        room = hub.hub.rooms[incident]
        assert room.event_at(first) is None  # only in storage now
        ack = await ana.post(EntryAmended(entry=first, text="right number", reason="typo"))
        assert ack.op == "ack", ack
        # A note and its amendment sent back to back: written in one batch.
        head = room.head
        note, amended = await asyncio.gather(
            ana.post(NoteAdded(text="pool at 95%")),
            ana.post(EntryAmended(entry=head + 1, text="pool at 59%", reason="digits swapped")),
        )
        assert note.op == "ack" and amended.op == "ack", (note, amended)
        assert room.state.corrections[first][-1].text == "right number"
        assert room.state.corrections[note.seq][-1].text == "pool at 59%"
        await ana.close()
    async with running_hub(db, clock=clock, memory=MemoryLimits(tail_frames=4)) as hub:
        ana = await client(hub.url, "ana", "ic", incident)
        again = await ana.post(EntryAmended(entry=first, text="right number, checked", reason="r"))
        assert again.op == "ack", again
        stored = list(LogReader.read_only(db).events(incident))[-1]
        assert (stored.entry_type, stored.entry_author) == ("note_added", "ana")
        await ana.close()


# --- the database file ----------------------------------------------------------------------------
def downgrade_to_version_1(db: Path) -> None:
    """Make ``db`` look as a version-1 hub left it (no checkpoints, the old incidents table)."""
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE checkpoints")
        for column in ("detected_at", "ic", "participants"):
            conn.execute(f"ALTER TABLE incidents DROP COLUMN {column}")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


async def test_a_version_1_database_opens_and_is_upgraded(tmp_path):
    db = tmp_path / "hub.db"
    clock = ManualClock(T0)
    async with running_hub(db, clock=clock) as hub:
        incident, ana = await ana_declares(hub.url)
        await notes(ana, 4)
        await ana.close()
        await eventually(lambda: not hub.hub.rooms[incident].online)
        listed = hub.hub.incident_list(include_closed=True)
    downgrade_to_version_1(db)

    async with running_hub(db, clock=clock) as hub:
        assert hub.store.schema_version() == SCHEMA_VERSION == 2
        assert hub.hub.incident_list(include_closed=True) == listed
        assert hub.hub.rooms[incident].state == full_fold(db, incident)
        assert hub.hub.health()["memory"]["start_from_checkpoint"] == 1
        ana = await client(hub.url, "ana", "ic", incident)
        assert (await ana.post(NoteAdded(text="after the upgrade"))).op == "ack"
        await ana.close()
    store = Store(db)
    try:
        columns = {c.name for c in store.db.table("incidents").columns}
        assert {"detected_at", "ic", "participants"} <= columns
        assert store.checkpoint(incident) is not None
    finally:
        store.close()


def test_ids_looked_up_for_a_batch_stay_known_for_that_batch_past_the_memory_bound(tmp_path):
    """A batch may find more stored ids than the memory holds: each is still known while the
    writer decides that batch (else a retry would be stored again and fail the whole batch)."""
    store = Store(tmp_path / "hub.db")
    try:
        events = [
            make_event("incident_declared", 1, incident_id="inc-ids", title="t", severity="SEV3")
        ]
        events += [
            make_event("note_added", seq, incident_id="inc-ids", text=f"n{seq}")
            for seq in range(2, 12)
        ]
        state = IncidentState()
        for event in events:
            state = apply(state, event)
        store.append(events, [state])
        ids = RecentIds(store.find_ids, capacity=2)
        ids.prefetch(e.id for e in events)
        assert len(ids) == 2
        assert all(ids.get(e.id) == Stored("inc-ids", e.seq, "ana") for e in events)
        ids.prefetch([uuid.uuid4()])  # the next batch
        # Only the recent ones are still in memory; every one is still found in the database.
        assert sum(ids.get(e.id) is not None for e in events) == 2
        assert all(e.id in ids for e in events) and uuid.uuid4() not in ids
    finally:
        store.close()


async def test_who_was_online_in_a_closed_incident_at_a_stop_is_shown_gone_once_it_loads(tmp_path):
    db = tmp_path / "hub.db"
    clock = ManualClock(T0)
    async with running_hub(db, clock=clock) as hub:
        closed, ana = await closed_by_ana(hub.url, clock, "Closed while ana watched")
        # The hub stops while ana is still connected: nobody records her leaving.
    await ana.close()
    assert full_fold(db, closed).participants["ana"].online

    async with running_hub(db, clock=clock) as hub:
        assert closed not in hub.hub.rooms
        bo = await client(hub.url, "bo", "responder", closed)
        await eventually(lambda: not bo.state.participants["ana"].online)
        assert bo.state.participants["bo"].online
        await bo.close()
