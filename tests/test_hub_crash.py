"""Crash safety: a real hub process is killed with SIGKILL while consoles post."""

from __future__ import annotations

import asyncio
import signal

from warroom.hub.storage import Store

from tests.helpers import HubProcess, client, declare_incident, eventually
from warroom.core.incident import NoteAdded


async def test_every_acknowledged_event_survives_sigkill_and_clients_resume(tmp_path):
    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    hub.start()
    try:
        incident = await declare_incident(hub.url)
        writers = [await client(hub.url, name, "responder", incident) for name in ("ana", "bo")]
        acked: list = []

        async def post_forever(c, prefix: str) -> None:
            i = 0
            while True:
                reply = await c.send(NoteAdded(text=f"{prefix} {i}"))
                if reply.op == "ack":
                    acked.append(reply)
                i += 1

        tasks = [asyncio.create_task(post_forever(c, c.name)) for c in writers]
        await eventually(lambda: len(acked) >= 40, timeout=15)
        hub.kill()  # SIGKILL: no chance to flush or close anything
        await eventually(lambda: all(c.status == "reconnecting" for c in writers))
        acked_at_kill = {(a.id, a.seq) for a in acked}

        hub.start()
        # The consoles come back by themselves and finish what was in their outboxes.
        await eventually(lambda: all(c.status == "live" for c in writers), timeout=15)
        await asyncio.sleep(0.3)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await eventually(lambda: all(not c.pending for c in writers), timeout=15)
        assert await hub.terminate() == 0  # SIGTERM: a clean stop

        store = Store(db)
        rows = store.db.execute(
            "SELECT id, seq FROM events WHERE incident_id = ? ORDER BY seq", [incident]
        ).fetchall()
        store.db.conn.close()
        stored = {(r[0], r[1]) for r in rows}
        assert {(str(i), s) for i, s in acked_at_kill} <= stored, "an acknowledged event was lost"
        assert len({r[0] for r in rows}) == len(rows), "an event was stored twice"
        assert [r[1] for r in rows] == list(range(1, len(rows) + 1)), "seq has a gap"
        for c in writers:
            assert [e.seq for e in c.log] == list(range(1, c.last_seq + 1))
            assert len({e.id for e in c.log}) == len(c.log)
        for c in writers:
            await c.close()
    finally:
        if hub.proc and hub.proc.poll() is None:
            hub.proc.send_signal(signal.SIGKILL)
            hub.proc.wait()


async def test_sigterm_closes_connections_with_1001_and_leaves_the_database_consistent(tmp_path):
    import json

    import pytest
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    hub.start()
    try:
        incident = await declare_incident(hub.url)
        async with connect(hub.url) as ws:
            await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": "ana", "role": "ic"}))
            await ws.send(json.dumps({"op": "join", "incident": incident}))
            await ws.send(
                json.dumps(
                    {"op": "command", "command": {"type": "note_added", "text": "last words"}}
                )
            )
            while json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] != "ack":
                pass
            assert await hub.terminate() == 0
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        store = Store(db)
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        texts = [e.text for e in store.events(incident) if e.type == "note_added"]
        store.db.conn.close()
        assert texts == ["last words"]
    finally:
        if hub.proc and hub.proc.poll() is None:
            hub.kill()
