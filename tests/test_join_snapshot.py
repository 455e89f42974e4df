"""Protocol 2 against a real hub: versioned hello, join by snapshot, resume, history, and the
state over HTTP."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from warroom.hub.storage import Store
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers import T0, client, declare_incident, make_event, running_hub
from warroom.client.sync import Change
from warroom.core.access import JOIN_CODE_HEADER, JoinCodeCreated, new_join_code
from warroom.core.fold import replay
from warroom.core.protocol import HISTORY_LIMIT, PROTOCOL_VERSION, RESUME_LIMIT, TAIL
from warroom.core.wire_state import state_from_json, state_json, state_schema

#: The lock as "synced" says it is when nobody has asked for it.
FREE = {"holder": None, "token": 0, "expires_at": None, "queue": []}
INCIDENT = "inc-long"


def write_incident(db: Path, notes: int) -> None:
    """A stored incident of a declaration and ``notes`` notes, written by the hub's storage."""
    events = [
        make_event("incident_declared", 1, incident_id=INCIDENT, title="Long", severity="SEV2")
    ]
    for i in range(notes):
        events.append(make_event("note_added", i + 2, incident_id=INCIDENT, actor="ana",
                                 at=T0 + timedelta(seconds=i), text=f"note {i}", kind="note"))  # fmt: skip
    store = Store(db)
    try:
        store.append(events, [replay(events)])
    finally:
        store.close()


async def say(ws: ClientConnection, **frame: Any) -> None:
    await ws.send(json.dumps(frame))


async def hear(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def hello(ws: ClientConnection, name: str = "eve") -> None:
    await say(ws, op="hello", protocol=PROTOCOL_VERSION, name=name, role="observer")
    assert (await hear(ws))["op"] == "welcome"


async def until_synced(ws: ClientConnection) -> list[dict[str, Any]]:
    frames = []
    while True:
        frames.append(await hear(ws))
        if frames[-1]["op"] in ("synced", "error"):
            return frames


async def nothing_more(ws: ClientConnection, wait: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), wait)


# --- versioning -------------------------------------------------------------------------------
async def test_a_hello_in_another_protocol_is_refused_and_the_connection_stays_usable(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub, connect(hub.url) as ws:
        for spoken in ({}, {"protocol": 1}, {"protocol": 3}, {"protocol": "2"}):
            await say(ws, op="hello", name="old", role="responder", **spoken)
            answer = await hear(ws)
            assert answer["op"] == "error" and answer["code"] == "protocol_unsupported", spoken
            assert (
                "protocol 2" in answer["message"] and "pip install -U warroom" in answer["message"]
            )
        # A version-1 hello may carry fields protocol 2 dropped: still a clear refusal.
        await say(ws, op="hello", name="old", protocol=1, extra=True)
        assert (await hear(ws))["code"] == "protocol_unsupported"
        # Nothing was welcomed: joining is still refused ...
        await say(ws, op="join", incident="inc-none")
        assert (await hear(ws))["code"] == "hello_first"
        # ... and the same connection says hello again in protocol 2.
        await say(ws, op="hello", protocol=2, name="new", role="responder")
        welcome = await hear(ws)
        assert welcome["op"] == "welcome" and welcome["protocol"] == 2 and welcome["name"] == "new"


async def test_the_console_speaks_protocol_2(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        try:
            assert ana.status == "live" and ana.fatal is None
        finally:
            await ana.close()


# --- join by snapshot ---------------------------------------------------------------------------
async def test_joining_sends_a_snapshot_then_the_tail_then_synced(tmp_path):
    write_incident(tmp_path / "hub.db", 300)
    async with running_hub(tmp_path / "hub.db") as hub, connect(hub.url) as ws:
        await hello(ws)
        await say(ws, op="join", incident=INCIDENT, presence=False)
        frames = await until_synced(ws)
        head = 301
        assert frames[0] == {"op": "joined", "incident": INCIDENT, "head": head}
        snapshot = frames[1]
        assert snapshot["op"] == "snapshot" and snapshot["seq"] == head
        assert state_from_json(snapshot["state"]) == hub.hub.rooms[INCIDENT].state
        events = [f["event"]["seq"] for f in frames[2:-1]]
        assert events == list(range(head - TAIL + 1, head + 1))
        assert frames[-1] == {"op": "synced", "incident": INCIDENT, "seq": head, "lock": FREE}


async def test_a_short_resume_gets_exactly_the_missed_events(tmp_path):
    write_incident(tmp_path / "hub.db", 300)
    async with running_hub(tmp_path / "hub.db") as hub, connect(hub.url) as ws:
        await hello(ws)
        await say(ws, op="join", incident=INCIDENT, since=296, presence=False)
        frames = await until_synced(ws)
        assert [f["op"] for f in frames] == ["joined"] + ["event"] * 5 + ["synced"]
        assert [f["event"]["seq"] for f in frames[1:-1]] == [297, 298, 299, 300, 301]


async def test_a_resume_past_the_threshold_gets_a_snapshot(tmp_path):
    write_incident(tmp_path / "hub.db", RESUME_LIMIT + 100)
    head = RESUME_LIMIT + 101
    async with running_hub(tmp_path / "hub.db") as hub:
        for since, snapshot in ((head - RESUME_LIMIT, False), (head - RESUME_LIMIT - 1, True)):
            async with connect(hub.url) as ws:
                await hello(ws)
                await say(ws, op="join", incident=INCIDENT, since=since, presence=False)
                frames = await until_synced(ws)
                ops = [f["op"] for f in frames]
                assert ("snapshot" in ops) is snapshot, since
                events = [f for f in frames if f["op"] == "event"]
                assert len(events) == (TAIL if snapshot else RESUME_LIMIT)


async def test_a_resume_the_hub_cannot_serve_from_memory_gets_a_snapshot(tmp_path):
    write_incident(tmp_path / "hub.db", 50)
    async with running_hub(tmp_path / "hub.db") as hub, connect(hub.url) as ws:
        hub.hub.rooms[INCIDENT].frames_after = lambda seq: None  # type: ignore[method-assign]
        await hello(ws)
        await say(ws, op="join", incident=INCIDENT, since=40, presence=False)
        frames = await until_synced(ws)
        assert [f["op"] for f in frames] == ["joined", "snapshot", "synced"]
        assert frames[1]["seq"] == frames[2]["seq"] == 51


async def test_a_second_join_of_the_same_incident_replays_nothing(tmp_path):
    write_incident(tmp_path / "hub.db", 20)
    async with running_hub(tmp_path / "hub.db") as hub, connect(hub.url) as ws:
        await hello(ws)
        await say(ws, op="join", incident=INCIDENT)
        first = await until_synced(ws)
        head = first[-1]["seq"]
        assert head > 21  # its own arrival was recorded
        for since in (0, 5):
            await say(ws, op="join", incident=INCIDENT, since=since)
            again = [await hear(ws), await hear(ws)]
            assert again == [
                {"op": "joined", "incident": INCIDENT, "head": head},
                {"op": "synced", "incident": INCIDENT, "seq": head, "lock": FREE},
            ]
            await nothing_more(ws)
        assert hub.hub.rooms[INCIDENT].head == head  # and nothing was recorded


async def test_a_console_joining_a_long_incident_gets_a_snapshot_and_the_tail(tmp_path):
    """The real client in a 1,000-event incident: one snapshot, at most TAIL events, and the
    same state as the hub's."""
    write_incident(tmp_path / "hub.db", 999)
    async with running_hub(tmp_path / "hub.db") as hub:
        from warroom.client.sync import IncidentClient

        bo = IncidentClient(hub.url, "bo", "responder", INCIDENT)
        changes: list[Change] = []
        bo.subscribe(changes.append)
        bo.start()
        try:
            await bo.wait_synced()
            kinds = [c.kind for c in changes]
            assert kinds.count("snapshot") == 1
            assert kinds.count("event") <= TAIL
            assert len(bo.log) <= TAIL and bo.log[-1].seq == bo.state.seq
            room = hub.hub.rooms[INCIDENT]
            assert bo.state == room.state and bo.state.seq == room.head >= 1000
            assert "bo" in bo.state.participants  # its own arrival, folded into the snapshot

            # Older entries come a page at a time, oldest first, until the first event.
            pages = 0
            while not bo.history_complete:
                first = bo.first_seq
                assert bo.request_history()
                await asyncio.wait_for(_until(lambda first=first: bo.first_seq < first), 10)
                pages += 1
            assert [e.seq for e in bo.log] == list(range(1, room.head + 1))
            assert pages == -(-(room.head - TAIL) // HISTORY_LIMIT)
            assert not bo.request_history()  # nothing older to ask for
        finally:
            await bo.close()


async def _until(predicate: Any) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


# --- history ------------------------------------------------------------------------------------
async def test_history_pages_hold_the_newest_events_before_a_seq_oldest_first(tmp_path):
    write_incident(tmp_path / "hub.db", 30)
    async with running_hub(tmp_path / "hub.db") as hub, connect(hub.url) as ws:
        await hello(ws)
        await say(ws, op="history", incident=INCIDENT, before=10)
        assert (await hear(ws))["code"] == "not_joined"
        await say(ws, op="join", incident=INCIDENT, presence=False)
        await until_synced(ws)
        await say(ws, op="history", incident=INCIDENT, before=21, limit=5)
        page = await hear(ws)
        assert page["op"] == "history_page" and page["before"] == 21
        assert [e["seq"] for e in page["events"]] == [16, 17, 18, 19, 20]
        assert not page["complete"]
        assert page["events"][0]["text"] == "note 14"
        await say(ws, op="history", incident=INCIDENT, before=4, limit=5)
        page = await hear(ws)
        assert [e["seq"] for e in page["events"]] == [1, 2, 3] and page["complete"]
        assert page["events"][0]["type"] == "incident_declared"
        await say(ws, op="history", incident=INCIDENT, before=1000, limit=2)  # past the head
        assert [e["seq"] for e in (await hear(ws))["events"]] == [30, 31]
        await say(ws, op="history", incident="inc-other", before=5)
        assert (await hear(ws))["code"] == "not_joined"
        for bad in ({"limit": HISTORY_LIMIT + 1}, {"limit": 0}, {"before": 0}, {"before": None}):
            await say(ws, **{"op": "history", "incident": INCIDENT, "before": 5, **bad})
            assert (await hear(ws))["code"] == "bad_message", bad


async def test_history_the_hub_no_longer_holds_is_read_from_the_database(tmp_path):
    write_incident(tmp_path / "hub.db", 30)
    async with running_hub(tmp_path / "hub.db") as hub, connect(hub.url) as ws:
        await hello(ws)
        await say(ws, op="join", incident=INCIDENT, presence=False)
        await until_synced(ws)
        in_memory = hub.hub.rooms[INCIDENT]
        await say(ws, op="history", incident=INCIDENT, before=12, limit=4)
        from_memory = await hear(ws)
        in_memory.frames_after = lambda seq: None  # type: ignore[method-assign]
        await say(ws, op="history", incident=INCIDENT, before=12, limit=4)
        from_disk = await hear(ws)
        assert from_disk == from_memory
        assert [e["seq"] for e in from_disk["events"]] == [8, 9, 10, 11]


# --- the state over HTTP ------------------------------------------------------------------------
async def test_the_state_over_http_with_the_websocket_credentials(tmp_path):
    token = "s3cret-oncall-token"
    async with running_hub(tmp_path / "hub.db", tokens={"oncall": token}) as hub:
        base = hub.url.replace("ws://", "http://")
        incident = await declare_incident(hub.url, token=token)
        other = await declare_incident(hub.url, token=token, title="Other")
        ana = await client(hub.url, "ana", "ic", incident, token=token)
        issued = new_join_code(incident)
        await ana.post(JoinCodeCreated(code_id=issued.code_id, digest=issued.digest))
        bearer = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            answer = await http.get(f"/incidents/{incident}/state", headers=bearer)
            assert answer.status_code == 200
            assert answer.json() == state_json(hub.hub.rooms[incident].state)
            assert state_from_json(answer.json()) == ana.state

            nobody = await http.get(f"/incidents/{incident}/state")
            assert nobody.status_code == 401 and nobody.json()["error"] == "unauthorized"
            wrong = await http.get(
                f"/incidents/{incident}/state", headers={"Authorization": "Bearer x"}
            )
            assert wrong.status_code == 401
            unknown = await http.get("/incidents/inc-nope/state", headers=bearer)
            assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_incident"

            guest = {JOIN_CODE_HEADER: issued.code}
            assert (
                await http.get(f"/incidents/{incident}/state", headers=guest)
            ).status_code == 200
            elsewhere = await http.get(f"/incidents/{other}/state", headers=guest)
            assert elsewhere.status_code == 403 and elsewhere.json()["error"] == "forbidden"

            schema = await http.get("/schema")
            assert schema.status_code == 200 and schema.json() == state_schema()
        await ana.close()


async def test_the_export_reads_a_long_incident_from_a_hub_page_by_page(tmp_path):
    """``warroom export --hub`` joins by snapshot and then pages ``history`` from seq 1: every
    event, in order, equal to the stored ones, and nothing recorded."""
    from warroom.export.sources import DatabaseSource, HubSource

    write_incident(tmp_path / "hub.db", 2 * HISTORY_LIMIT + 250)
    async with running_hub(tmp_path / "hub.db") as hub:
        head = hub.hub.rooms[INCIDENT].head
        source = HubSource(hub.url)
        read = await asyncio.to_thread(lambda: list(source.events(INCIDENT)))
        assert [e.seq for e in read] == list(range(1, head + 1))
        stored = DatabaseSource(tmp_path / "hub.db")
        try:
            assert read == list(stored.events(INCIDENT))
        finally:
            stored.close()
        assert hub.hub.rooms[INCIDENT].head == head
