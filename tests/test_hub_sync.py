"""A real hub on an ephemeral port, real websocket clients: sync, resume, outbox, bad input."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from warroom.hub.storage import Store
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import client, declare_incident, eventually, running_hub
from warroom.core.incident import NoteAdded


async def hand(url: str, *messages: dict | str, token: str | None = None) -> list[dict]:
    """Send raw frames as a person would with a generic websocket client; return the replies."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    replies: list[dict] = []
    async with connect(url, additional_headers=headers) as ws:
        for message in messages:
            await ws.send(message if isinstance(message, str) else json.dumps(message))
            replies.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    return replies


async def test_note_from_one_console_reaches_the_other_with_the_same_seq(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        bo = await client(hub.url, "bo", "scribe", incident)
        ack = await ana.post(NoteAdded(text="error rate 12% on checkout", kind="finding"))
        assert ack.op == "ack" and not ack.duplicate
        await bo.wait_for_seq(ack.seq)
        theirs = next(e for e in bo.log if e.id == ack.id)
        assert theirs.seq == ack.seq and theirs.actor == "ana" and theirs.text.startswith("error")
        await eventually(lambda: ana.last_seq == bo.last_seq)
        assert ana.state == bo.state
        assert [e.seq for e in bo.log] == list(range(1, bo.last_seq + 1))
        # bo asked for the vacant scribe seat and got it from the hub
        assert bo.state.holder("scribe") == "bo"
        await ana.close()
        await bo.close()


async def test_resume_after_disconnect_has_no_gap_and_no_duplicate(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        bo = await client(hub.url, "bo", "responder", incident)
        await bo.post(NoteAdded(text="before the drop"))
        await bo.close()
        seq_before = bo.last_seq
        for i in range(50):
            await ana.post(NoteAdded(text=f"while bo was away {i}"))
        resumed = type(bo)(hub.url, "bo", "responder", incident)
        resumed.state, resumed.log = bo.state, list(bo.log)
        resumed.start()
        await resumed.wait_synced()
        await eventually(lambda: resumed.last_seq == ana.last_seq)
        seqs = [e.seq for e in resumed.log]
        assert seqs == list(range(1, ana.last_seq + 1))
        assert len({e.id for e in resumed.log}) == len(resumed.log)
        assert resumed.last_seq >= seq_before + 50
        assert resumed.state == ana.state
        await resumed.close()
        await ana.close()


async def test_outbox_delivers_each_command_once_after_the_hub_returns(tmp_path):
    db = tmp_path / "hub.db"
    async with running_hub(db) as hub:
        port = hub.port
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
    # The hub is gone: the console keeps working and queues what the user types.
    await eventually(lambda: ana.status in ("reconnecting", "offline"))
    futures = [ana.send(NoteAdded(text=f"offline note {i}")) for i in range(5)]
    assert len(ana.pending) == 5
    async with running_hub(db, port=port) as hub:
        replies = await asyncio.wait_for(asyncio.gather(*futures), 10)
        assert all(r.op == "ack" for r in replies)
        await eventually(lambda: not ana.pending)
        texts = [e.text for e in ana.log if e.type == "note_added"]
        assert texts == [f"offline note {i}" for i in range(5)]
        # Re-sending the same commands (as after a lost ack) stores nothing new.
        again = [await ana.send(cmd) for cmd in [NoteAdded(text="x")]]
        dup = await ana.send(next(e for e in ana.log if e.type == "note_added"))
        assert dup.duplicate and again[0].op == "ack"
        stored = Store(db)
        assert stored.count(incident) == ana.last_seq
        stored.db.conn.close()
        await ana.close()


async def test_duplicate_command_id_gets_the_original_ack(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        cid = str(uuid.uuid4())
        cmd = {
            "op": "command",
            "command": {"type": "note_added", "id": cid, "incident_id": incident, "text": "once"},
        }
        replies = await hand(
            hub.url,
            {"op": "hello", "protocol": 2, "name": "eve"},
            {"op": "join", "incident": incident, "since": 999},
        )
        assert replies[1]["code"] == "ahead_of_hub"
        async with connect(hub.url) as ws:
            await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": "eve"}))
            await ws.send(json.dumps({"op": "join", "incident": incident, "since": 0}))
            await ws.send(json.dumps(cmd))
            await ws.send(json.dumps(cmd))
            acks = []
            while len(acks) < 2:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if msg["op"] == "ack":
                    acks.append(msg)
        assert acks[0]["seq"] == acks[1]["seq"]
        assert [a["duplicate"] for a in acks] == [False, True]
        stored = hub.store.db.execute("SELECT count(*) FROM events WHERE id = ?", [cid])
        assert stored.fetchone()[0] == 1


async def test_bad_input_gets_a_clear_error_and_writes_nothing(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        before = hub.store.count()
        replies = await hand(
            hub.url,
            "this is not json",
            '["op", "hello"]',
            {"op": "teleport"},
            {"op": "join", "incident": incident},
            {"op": "hello", "protocol": 2, "name": "mallory", "role": "observer"},
            {"op": "hello", "protocol": 2, "name": "mallory", "role": "observer", "extra": 1},
            {"op": "join", "incident": "inc-nope"},
            {
                "op": "command",
                "command": {"type": "note_added", "incident_id": incident, "text": 42},
            },
            {"op": "command", "command": {"type": "warp_drive", "incident_id": incident}},
            {
                "op": "command",
                "command": {
                    "type": "note_added",
                    "incident_id": incident,
                    "text": "I am only watching",
                },
            },
            {
                "op": "command",
                "command": {"type": "note_added", "incident_id": "inc-nope", "text": "where"},
            },
        )
        codes = [r.get("code", r["op"]) for r in replies]
        assert codes == [
            "bad_json",
            "bad_message",
            "unknown_op",
            "hello_first",
            "welcome",
            "bad_message",
            "unknown_incident",
            "invalid",
            "invalid",
            "not_joined",
            "not_joined",  # a command is taken only for the incident this connection joined
        ]
        assert "valid string" in replies[7]["message"]
        assert "warp_drive" in replies[8]["message"]
        assert hub.store.count() == before

        # An observer who joined is refused too, with the reason.
        async with connect(hub.url) as ws:
            await ws.send(
                json.dumps({"op": "hello", "protocol": 2, "name": "olga", "role": "observer"})
            )
            await ws.send(json.dumps({"op": "join", "incident": incident}))
            await ws.send(
                json.dumps({"op": "command", "command": {"type": "note_added", "text": "hi"}})
            )
            while (msg := json.loads(await asyncio.wait_for(ws.recv(), 5)))["op"] != "error":
                pass
            assert msg["code"] == "forbidden" and "Observers" in msg["message"]
        assert hub.hub.refused >= 1
        assert hub.hub.health()["status"] == "ok"


async def test_oversized_message_closes_with_1009(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        before = hub.store.count()
        async with connect(hub.url, max_size=None) as ws:
            await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": "big"}))
            await ws.recv()
            await ws.send(
                json.dumps(
                    {
                        "op": "command",
                        "command": {
                            "type": "note_added",
                            "incident_id": incident,
                            "text": "x" * 70_000,
                        },
                    }
                )
            )
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 1009
        assert hub.store.count() == before
        # the hub is still serving others
        assert (await hand(hub.url, {"op": "ping"}))[0]["op"] == "pong"


async def test_token_is_required_when_configured(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens={"team": "s3cret"}) as hub:
        with pytest.raises(InvalidStatus) as refused:
            await hand(hub.url, {"op": "ping"})
        assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus):
            await hand(hub.url, {"op": "ping"}, token="wrong")
        assert (await hand(hub.url, {"op": "ping"}, token="s3cret"))[0]["op"] == "pong"
        async with httpx.AsyncClient() as http:
            base = f"http://127.0.0.1:{hub.port}"
            assert (await http.get(f"{base}/incidents")).status_code == 401
            ok = await http.get(f"{base}/incidents", headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200 and ok.json() == []
            assert (await http.get(f"{base}/healthz")).status_code == 200


async def test_http_endpoints(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        base = f"http://127.0.0.1:{hub.port}"
        async with httpx.AsyncClient() as http:
            health = (await http.get(f"{base}/healthz")).json()
            assert health["status"] == "ok" and health["incidents"] == 0 and health["version"]
            incident = await declare_incident(hub.url, title="Payments 503", severity="SEV1")
            ana = await client(hub.url, "ana", "ic", incident)
            listing = await http.get(f"{base}/incidents")
            assert listing.headers["content-type"] == "application/json"
            (row,) = listing.json()
            assert row["id"] == incident and row["title"] == "Payments 503"
            assert row["severity"] == "SEV1" and row["phase"] == "detected"
            assert row["participants"] == 1 and row["declared_at"].startswith("2026-03-14T09:00")
            assert (await http.get(f"{base}/healthz")).json()["incidents"] == 1
            assert (await http.get(f"{base}/nope")).status_code == 404
            browser = await http.get(f"{base}/incidents", headers={"Origin": "https://evil"})
            assert browser.status_code == 403
            await ana.close()


async def test_pipelined_commands_are_stored_in_the_order_they_were_made(tmp_path):
    """300 at once: past the default burst, so the rate limit slows them; order holds anyway."""
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        futures = [ana.send(NoteAdded(text=f"n{i}")) for i in range(300)]
        replies = await asyncio.wait_for(asyncio.gather(*futures), 30)
        assert all(r.op == "ack" for r in replies)
        seqs = [r.seq for r in replies]
        assert seqs == sorted(seqs) and len(set(seqs)) == 300
        texts = [e.text for e in ana.log if e.type == "note_added"]
        assert texts == [f"n{i}" for i in range(300)]
        await ana.close()
