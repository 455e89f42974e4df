"""The storage interface behaves the same on SQLite and on PostgreSQL (#22).

Every test here runs twice: on a SQLite file and on a fresh database of a real PostgreSQL
server (``tests/postgres.py``). Nothing is mocked: the hub's own store, a real hub on
127.0.0.1 for the end-to-end checks.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from warroom.hub.history import history_frame
from warroom.hub.loading import LoadStats, MemoryLimits, load_room
from warroom.hub.people import PeopleError
from warroom.hub.storage_api import EventStore, open_store
from warroom.hub.storage_open import open_people

from tests.helpers import T0, client, declare_incident, make_event, running_hub
from warroom.core.clock import ManualClock
from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.incident import NoteAdded
from warroom.core.lifecycle import PhaseChanged
from warroom.core.protocol import History
from warroom.core.state import IncidentState

INCIDENT = "inc-store"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a store or a hub keeps its record: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "hub.db"
    return str(request.getfixturevalue("pg_url"))


def opened(db: Path | str, checkpoint_every: int = 1000) -> EventStore:
    return open_store(db, durability="full", checkpoint_every=checkpoint_every)


def incident_log(count: int, incident: str = INCIDENT) -> list[EventBase]:
    """A declaration and ``count - 1`` notes, stamped as the hub stores them."""
    events = [make_event("incident_declared", 1, incident_id=incident, title="t", severity="SEV2")]
    events += [
        make_event("note_added", seq, incident_id=incident, text=f"note {seq}")
        for seq in range(2, count + 1)
    ]
    return events


def folded(events: list[EventBase], state: IncidentState | None = None) -> IncidentState:
    state = state or IncidentState()
    for event in events:
        state = apply(state, event)
    return state


def test_what_is_appended_reads_back_the_same_through_every_read(db: Any) -> None:
    store = opened(db)
    try:
        events = incident_log(12)
        state = folded(events)
        store.append(events[:5], [folded(events[:5])])
        store.append(events[5:], [state])
        reader = store.reader
        assert [e.id for e in reader.events(INCIDENT)] == [e.id for e in events]
        assert [e.seq for e in reader.events(INCIDENT, since=10)] == [11, 12]
        assert [e.seq for e in reader.events_between(INCIDENT, 3, 6)] == [4, 5, 6]
        assert [e.seq for e in reader.events_before(INCIDENT, 12, 3)] == [9, 10, 11]
        assert [e["seq"] for e in reader.page(INCIDENT, 2, 3)] == [2, 3, 4]
        assert reader.head_of(INCIDENT) == 12 and reader.head_of("inc-none") == 0
        assert reader.event_id_at(INCIDENT, 7) == str(events[6].id)
        assert reader.event_id_at(INCIDENT, 13) is None
        assert reader.count() == 12 and reader.count(INCIDENT) == 12
        assert reader.incident_ids() == [INCIDENT]
        assert reader.has_incident(INCIDENT) and not reader.has_incident("inc-none")
        assert reader.live_incident_ids() == [INCIDENT]
        (row,) = reader.incident_rows(include_closed=False)
        assert row["id"] == INCIDENT and row["head"] == 12 and row["severity"] == "SEV2"
        assert row["phase"] == state.phase.value and int(row["drill"]) == 0
        unknown = str(uuid.uuid4())
        found = store.find_ids([str(events[3].id), unknown])
        assert found == {str(events[3].id): (INCIDENT, 4, "ana")}
        assert [e.payload() for e in reader.events(INCIDENT)] == [e.payload() for e in events]
    finally:
        store.close()


def test_a_batch_is_stored_whole_or_not_at_all(db: Any) -> None:
    store = opened(db)
    try:
        events = incident_log(3)
        store.append(events, [folded(events)])
        again = make_event("note_added", 3, incident_id=INCIDENT, text="same seq")
        fresh = make_event("note_added", 4, incident_id=INCIDENT, text="would be fine alone")
        with pytest.raises(Exception):  # noqa: B017 - each database has its own error type
            store.append([fresh, again], [folded([fresh], folded(events))])
        assert store.reader.head_of(INCIDENT) == 3
        assert store.find_ids([str(fresh.id)]) == {}
        # A reused event id is refused too, even in another incident.
        stolen = make_event(
            "incident_declared", 1, incident_id="inc-other", title="x", severity="SEV3"
        )
        stolen = stolen.model_copy(update={"id": events[0].id})
        with pytest.raises(Exception):  # noqa: B017
            store.append([stolen], [folded([stolen])])
        assert not store.reader.has_incident("inc-other")
        # The store keeps working after a refused batch.
        store.append([fresh], [folded([fresh], folded(events))])
        assert store.reader.head_of(INCIDENT) == 4
    finally:
        store.close()


def test_checkpoints_are_written_with_the_batch_and_on_a_clean_stop(db: Any) -> None:
    store = opened(db, checkpoint_every=5)
    events = incident_log(7)
    try:
        store.append(events[:6], [folded(events[:6])])
        checkpoint = store.reader.checkpoint(INCIDENT)
        assert checkpoint is not None and checkpoint.seq == 6
        store.append(events[6:], [folded(events)])
        assert store.reader.checkpoint(INCIDENT).seq == 6  # type: ignore[union-attr]
        assert store.write_checkpoints([folded(events)]) == 1
        assert store.write_checkpoints([folded(events)]) == 0  # nothing new
    finally:
        store.close()
    store = opened(db, checkpoint_every=5)
    try:
        stats = LoadStats()
        room, started_from = load_room(store.reader, INCIDENT, MemoryLimits().tail_frames, stats)
        assert started_from == 7 and stats.from_checkpoint == 1 and stats.folded == 0
        assert room.state == folded(events) and room.head == 7
    finally:
        store.close()


def test_the_personal_token_registry_works_the_same(db: Any) -> None:
    store = opened(db)  # the hub's tables exist first, as when a hub runs
    people = open_people(db)
    try:
        name, token = people.add("ana")
        assert name == "ana" and token.startswith("wrp_")
        assert people.match(token) == "ana" and people.match(token + "x") is None
        with pytest.raises(PeopleError):
            people.add("ana")
        with pytest.raises(PeopleError):
            people.add("аna")  # a Cyrillic a: looks like ana
        assert set(people.active()) == {"ana"}
        assert people.revoke("ana") == "ana"
        assert people.active() == {} and people.match(token) is None
        assert [p.name for p in people.all()] == ["ana"]
    finally:
        people.close()
        store.close()


async def test_a_hub_serves_restarts_and_pages_history_from_either_database(db: Any) -> None:
    clock = ManualClock(T0)
    memory = MemoryLimits(tail_frames=5)
    async with running_hub(db, clock=clock, memory=memory) as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        for i in range(20):
            assert (await ana.post(NoteAdded(text=f"note {i}"))).op == "ack"
        await ana.close()
    async with running_hub(db, clock=clock, memory=memory) as hub:
        room = hub.hub.rooms[incident]
        assert room.state == folded(list(hub.store.reader.events(incident)))
        assert room.state.seq >= 22 and room.head == room.state.seq
        ana = await client(hub.url, "ana", "ic", incident)
        # Older than the room's tail: read from the database.
        page = await history_frame(hub.store, room, History(incident=incident, before=6, limit=5))
        assert '"seq":1' in page and '"seq":5' in page
        clock.advance(timedelta(minutes=1))
        assert (await ana.post(PhaseChanged(phase="triage"))).op == "ack"
        assert (await ana.post(NoteAdded(text="after restart"))).op == "ack"
        assert hub.store.reader.head_of(incident) == hub.hub.rooms[incident].head
        await ana.close()


def test_loading_an_incident_another_hub_is_appending_to_stops_at_the_head_it_read(db: Any):
    """On a shared database another hub may append between the loader's read of the head and
    its read of the events: the room is loaded up to that head (the rest is caught up later),
    never set aside for a gap."""
    store = opened(db)
    try:
        events = incident_log(8)
        store.append(events[:5], [folded(events[:5])])
        reader = store.reader

        class AppendedMeanwhile:
            def __getattr__(self, name: str) -> Any:
                return getattr(reader, name)

            def head_of(self, incident_id: str) -> int:
                head = reader.head_of(incident_id)
                store.append(events[5:], [folded(events)])  # the other hub's commit
                return head

        room, _ = load_room(AppendedMeanwhile(), INCIDENT, 100)  # type: ignore[arg-type]
        assert room.head == room.state.seq == 5
        assert room.state == folded(events[:5])
    finally:
        store.close()
