"""Issue 15, defects 4, 5 and 13: the hub and its database file, against real hub processes.

- A second ``warroom serve`` on a file a hub already serves exits at once, names the file and
  the holder, writes nothing, and leaves the first hub serving (defect 4).
- A failed write (a full disk) is answered ``internal`` to every sender; the hub keeps serving
  and resumes writing, with presence corrected, once there is room again (defect 5).
- A database the hub cannot use gives one line naming the file and the problem, with its own
  exit code; one unreadable incident is set aside and every other incident is served (defect 13).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from warroom.hub.dbfile import lock_path
from websockets.asyncio.client import connect

from tests.helpers import (
    HubProcess,
    declare_incident,
    eventually,
    fast_backoff,
    free_port,
    recv_json,
    running_hub,
    until,
)
from warroom.client.sync import IncidentClient

EXIT_CANNOT_LISTEN, EXIT_DATABASE, EXIT_IN_USE = 1, 3, 4


def serve(db: Path, port: int, timeout: float = 30, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``warroom serve`` that is expected to exit by itself (it refuses to start)."""
    return subprocess.run(
        [sys.executable, "-m", "warroom", "serve", "--port", str(port), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def fingerprint(db: Path) -> dict[str, str]:
    """Digests of the database and its WAL: any write by anyone changes them."""
    found = {}
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


async def joined(url: str, name: str, incident: str, role: str = "responder") -> Any:
    ws = await connect(url)
    await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": name, "role": role}))
    await until(ws, "welcome")
    await ws.send(json.dumps({"op": "join", "incident": incident}))
    await until(ws, "synced")
    return ws


def note(text: str) -> str:
    return json.dumps(
        {"op": "command", "command": {"type": "note_added", "id": str(uuid.uuid4()), "text": text}}
    )


# --- defect 4: one hub per database file ------------------------------------------------------
async def test_a_second_hub_on_the_same_file_exits_at_once_and_writes_nothing(tmp_path):
    db = tmp_path / "warroom.db"
    first = HubProcess(db)
    first.start()
    try:
        incident = await declare_incident(first.url)
        ana = await joined(first.url, "ana", incident, "ic")  # shown online in the file
        stored = fingerprint(db)
        # On the same port (which it cannot bind either) and on another port (where it could
        # have served the same file: split brain).
        for port in (first.port, free_port()):
            second = await asyncio.to_thread(serve, db, port)
            assert second.returncode == EXIT_IN_USE, second
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1, second.stderr
            assert str(db) in lines[0] and "in use by another hub" in lines[0]
            assert f"pid {first.proc.pid}" in lines[0] and str(first.port) in lines[0]
            assert "Traceback" not in second.stderr
            assert fingerprint(db) == stored, "the second hub wrote to the file"
        # The first hub is unaffected: it serves, stores and still holds the file.
        await ana.send(note("still ours"))
        ack = await until(ana, "ack")
        health = httpx.get(f"http://127.0.0.1:{first.port}/healthz").json()
        assert health["status"] == "ok"
        with sqlite3.connect(db) as reader:
            seqs = [
                r[0]
                for r in reader.execute("SELECT seq FROM events WHERE incident_id = ?", [incident])
            ]
        assert seqs == list(range(1, ack["seq"] + 1))
        await ana.close()
    finally:
        await first.terminate()
    # Once the first hub has stopped, the file is free again.
    again = HubProcess(db)
    again.start()
    await again.terminate()


async def test_a_hub_that_cannot_listen_records_nothing_and_says_so(tmp_path):
    """Binding comes before recording: a hub whose port is taken leaves the file untouched."""
    db = tmp_path / "warroom.db"
    async with running_hub(db) as hub:
        incident = await declare_incident(hub.url)
        ana = await joined(hub.url, "ana", incident, "ic")
        # A hub killed with someone online: a restart would record their departure.
    with sqlite3.connect(db) as reader:
        before = reader.execute("SELECT count(*) FROM events").fetchone()[0]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = await asyncio.to_thread(serve, db, port)
    assert result.returncode == EXIT_CANNOT_LISTEN, result
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr
    with sqlite3.connect(db) as reader:
        assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == before
    assert not lock_path(db).read_text(), "the lock file still names a hub that is gone"
    await ana.close()


# --- defect 13: a database the hub cannot use -------------------------------------------------
def _valid_db(path: Path) -> None:
    async def make() -> None:
        async with running_hub(path) as hub:
            for i in range(30):
                await declare_incident(hub.url, title=f"incident {i} " + "x" * 150)

    asyncio.run(make())


def _as_nobody() -> dict[str, Any]:
    """Run the hub as an unprivileged user when the tests run as root (root ignores modes)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "nobody", "group": "nogroup" if _has_group("nogroup") else "nobody"}


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def test_unusable_database_files_get_one_line_and_their_own_exit_code(tmp_path):
    port = free_port()
    not_db = tmp_path / "notes.db"
    not_db.write_text("these are my notes, not a database\n" * 200)
    directory = tmp_path / "adir.db"
    directory.mkdir()
    damaged = tmp_path / "damaged.db"
    _valid_db(damaged)
    with open(damaged, "r+b") as fh:  # zero every page after the schema page
        fh.seek(4096)
        size = damaged.stat().st_size
        fh.write(b"\0" * (size - 4096))
    cases = [
        (not_db, "is not a warroom database"),
        (directory, "is a directory"),
        (damaged, "is damaged"),
    ]
    for db, problem in cases:
        result = serve(db, port)
        assert result.returncode == EXIT_DATABASE, (db, result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(db) in lines[0] and problem in lines[0], result.stderr
        assert "Traceback" not in result.stderr

    # Held by another program (an sqlite3 shell in a write transaction): after SQLite's busy
    # timeout, one line too.
    held = tmp_path / "held.db"
    _valid_db(held)
    holder = sqlite3.connect(held, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = serve(held, port)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == EXIT_DATABASE, result
    line = result.stderr.strip()
    assert "\n" not in line and str(held) in line and "locked by another program" in line, line

    # Read-only: the file, and a directory where the hub may not create anything.
    shared = Path(tempfile.mkdtemp(prefix="warroom-ro-"))
    try:
        os.chmod(shared, 0o777)
        readonly = shared / "readonly.db"
        _valid_db(readonly)
        for leftover in shared.glob("readonly.db?*"):
            leftover.unlink()
        os.chmod(readonly, 0o444)
        result = serve(readonly, port, **_as_nobody())
        assert result.returncode == EXIT_DATABASE, result
        line = result.stderr.strip()
        assert "\n" not in line and str(readonly) in line and "read-only" in line, line

        locked_dir = shared / "closed"
        locked_dir.mkdir()
        _valid_db(locked_dir / "hub.db")
        os.chmod(locked_dir, 0o755)  # owned by the test's user: the hub (as nobody) may not write
        if not _as_nobody():
            os.chmod(locked_dir, stat.S_IRUSR | stat.S_IXUSR)
        result = serve(locked_dir / "hub.db", port, **_as_nobody())
        assert result.returncode == EXIT_DATABASE, result
        line = result.stderr.strip()
        assert "\n" not in line and str(locked_dir / "hub.db") in line, line
        assert "directory" in line, line
    finally:
        os.chmod(shared, 0o755)
        for sub in shared.rglob("*"):
            os.chmod(sub, 0o755 if sub.is_dir() else 0o644)
        shutil.rmtree(shared)


async def test_one_unreadable_incident_is_set_aside_and_the_others_are_served(tmp_path):
    db = tmp_path / "warroom.db"
    async with running_hub(db) as hub:
        broken = await declare_incident(hub.url, title="the one that breaks")
        fine = await declare_incident(hub.url, title="the one that works")
        for incident in (broken, fine):
            ws = await joined(hub.url, "ana", incident, "ic")
            await ws.send(note("first"))
            await until(ws, "ack")
            await ws.close()
    with sqlite3.connect(db) as writer:  # one bad row, as a faulty tool or a bad restore leaves
        writer.execute(
            "UPDATE events SET payload = '{not json' WHERE incident_id = ? AND seq = 2", [broken]
        )
    hub = HubProcess(db, None, "-v")
    hub.start()
    try:
        health = httpx.get(f"http://127.0.0.1:{hub.port}/healthz").json()
        assert health["status"] == "degraded"
        assert list(health["set_aside"]) == [broken] and "seq 1" in health["set_aside"][broken]
        listed = httpx.get(f"http://127.0.0.1:{hub.port}/incidents").json()
        assert [r["id"] for r in listed] == [fine]
        # The other incident is served as ever.
        ws = await joined(hub.url, "bo", fine)
        await ws.send(note("business as usual"))
        assert (await until(ws, "ack"))["seq"] >= 4
        # The set-aside one says why, and its id cannot be taken by a new incident.
        await ws.send(json.dumps({"op": "join", "incident": broken}))
        error = await until(ws, "error")
        assert error["code"] == "unavailable" and "set aside" in error["message"]
        declare = {
            "type": "incident_declared",
            "incident_id": broken,
            "title": "t",
            "severity": "SEV3",
        }
        await ws.send(json.dumps({"op": "command", "command": declare}))
        assert (await until(ws, "error"))["code"] == "already_declared"
        await ws.close()
        # A console asked to follow it stops with the reason instead of waiting for ever.
        console = IncidentClient(hub.url, "cy", "responder", broken, backoff=fast_backoff())
        console.start()
        await eventually(lambda: console.fatal is not None)
        assert "set aside" in console.fatal
        await console.close()
    finally:
        await hub.terminate()
    log = hub.proc.stderr.read().decode()
    assert f"incident {broken} set aside" in log and "Traceback" not in log


# --- defect 5: a failed write is answered, and the hub recovers --------------------------------
def served_is_stored(hub: Any, incident: str) -> bool:
    """What the hub serves for ``incident`` is exactly what is committed (read apart from the
    hub's own connection, which would see a transaction in flight)."""
    room = hub.hub.rooms[incident]
    with contextlib.closing(sqlite3.connect(hub.store.path)) as reader:
        stored = reader.execute(
            "SELECT count(*), coalesce(max(seq), 0) FROM events WHERE incident_id = ?", [incident]
        ).fetchone()
    return hub.hub.queue.empty() and stored == (room.head, room.head) == (room.state.seq,) * 2


def _fill_up(store: Any) -> int:
    """Let the database grow no further (SQLite's max_page_count: a full disk for this file)."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    return pages


async def test_a_full_disk_is_answered_internal_and_the_hub_recovers_without_restart(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        hub.hub.retry_interval = 0.05
        incident = await declare_incident(hub.url)
        ana = await joined(hub.url, "ana", incident, "ic")
        bo = await joined(hub.url, "bo", incident)
        room = hub.hub.rooms[incident]
        _fill_up(hub.store)

        # Two senders pipelining until the disk is full: every command gets exactly one answer.
        sent: dict[str, list[str]] = {"ana": [], "bo": []}
        replies: dict[str, dict[str, dict[str, Any]]] = {"ana": {}, "bo": {}}
        frames: dict[str, str] = {}
        for i in range(40):
            for name, ws in (("ana", ana), ("bo", bo)):
                command_id = str(uuid.uuid4())
                frame = json.dumps(
                    {
                        "op": "command",
                        "command": {
                            "type": "note_added",
                            "id": command_id,
                            "text": f"{i:02} " * 900,
                        },
                    }
                )
                frames[command_id] = frame
                sent[name].append(command_id)
                await ws.send(frame)
        for name, ws in (("ana", ana), ("bo", bo)):
            while len(replies[name]) < len(sent[name]):
                msg = await recv_json(ws, 10)
                if msg["op"] in ("ack", "error"):
                    assert msg["id"] not in replies[name], "answered twice"
                    replies[name][msg["id"]] = msg
        failed = [cid for name in sent for cid, r in replies[name].items() if r["op"] == "error"]
        assert failed, "the disk never filled"
        for name in sent:
            for r in replies[name].values():
                assert r["op"] == "ack" or r["code"] == "internal", r
        assert hub.hub.write_failures > 0 and hub.hub.health()["write_failures"] > 0
        # Nothing that failed is in memory: what the hub serves is what is stored.
        assert all(uuid.UUID(cid) not in hub.hub.ids for cid in failed)
        await eventually(lambda: served_is_stored(hub, incident))

        # Presence while full: cy arrives, bo leaves; neither can be recorded yet.
        cy = await joined(hub.url, "cy", incident)
        await bo.close()
        await eventually(lambda: "bo" not in room.online)
        assert "cy" in room.online
        # Still serving: pings, reads, and a clear answer to every new command.
        await ana.send(json.dumps({"op": "ping"}))
        assert (await until(ana, "pong"))["op"] == "pong"

        # Room again: no restart. The same command ids are stored once, presence is corrected.
        hub.store.db.execute("PRAGMA max_page_count = 1000000")
        retry = failed[0]
        await ana.send(frames[retry])
        while True:
            msg = await recv_json(ana, 10)
            if msg["op"] in ("ack", "error") and msg["id"] == retry:
                break
        assert msg["op"] == "ack" and not msg["duplicate"], msg
        await eventually(
            lambda: (
                room.state.participants["cy"].online and not room.state.participants["bo"].online
            ),
            timeout=10,
        )
        assert room.state.participants["ana"].online
        await eventually(lambda: served_is_stored(hub, incident))
        assert hub.hub.health()["status"] == "ok"
        await ana.close()
        await cy.close()
