"""Issue 15, defects 6, 7 and 9: limits that hold per credential, against a real hub.

- One join code (or one token) may hold only so many connections, so it can never fill the hub
  and lock the team out (defect 7: one observer-only code opened 1,999 of 2,000).
- All the connections of one credential share one message budget (defect 9: twenty connections
  from one script stored 1,226 events/s and held others' acks up to 4.6 s).
- A console that stops reading with its socket full is cut off after a bounded time without
  progress, and shown offline (defect 6: as the IC it blocked every claim for 157 s).
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import statistics
import sys
import time
import uuid
from typing import Any

import pytest
from warroom.hub.app import HubConfig
from warroom.hub.hub import HubLimits
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import (
    ONE_AT_A_TIME,
    HubProcess,
    client,
    declare_incident,
    eventually,
    running_hub,
)
from tests.test_security_limits import masked_text, raw_websocket
from warroom.core.access import JOIN_CODE_HEADER, JoinCodeCreated, new_join_code
from warroom.core.handoff import IcClaimed
from warroom.core.incident import NoteAdded

TOKENS = {"team": "team-secret-0123456789", "script": "script-secret-0123456789"}


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


async def mint_code(url: str, incident: str, seat_limit: str = "observer") -> str:
    ic = await client(url, "ana", "ic", incident, token=TOKENS["team"])
    issued = new_join_code(incident)
    ack = await ic.post(
        JoinCodeCreated(
            code_id=issued.code_id,
            digest=issued.digest,
            label="watchers",
            seat_limit=seat_limit,
        )
    )
    assert ack.op == "ack", ack
    await ic.close()
    return issued.code


async def greeted(url: str, name: str, headers: dict[str, str], role: str = "observer") -> Any:
    ws = await connect(url, additional_headers=headers)
    await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": name, "role": role}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "welcome"
    return ws


# --- defect 7: connections per credential ---------------------------------------------------------
def test_no_single_credential_can_fill_the_hub_by_default():
    limits, config = HubLimits(), HubConfig()
    assert 50 < limits.per_code < config.max_connections // 4
    assert 50 < limits.per_token < config.max_connections


async def test_one_join_code_holds_only_so_many_connections_and_the_team_gets_in(tmp_path):
    limits = HubLimits(per_code=10, per_token=30)
    async with running_hub(
        tmp_path / "hub.db", tokens=dict(TOKENS), limits=limits, max_connections=40
    ) as hub:
        incident = await declare_incident(hub.url, token=TOKENS["team"])
        code = await mint_code(hub.url, incident)
        guest = {JOIN_CODE_HEADER: code}
        held = [await connect(hub.url, additional_headers=guest) for _ in range(10)]
        # The eleventh, opened one by one or twenty at once, is refused (429, or closed at once
        # if it raced past the handshake check), and never more than ten stay open.
        with pytest.raises(InvalidStatus) as refused:
            await connect(hub.url, additional_headers=guest)
        assert refused.value.response.status_code == 429
        assert b"too_many_connections" in refused.value.response.body

        async def one_more() -> Any:
            try:
                ws = await connect(hub.url, additional_headers=guest)
            except InvalidStatus:
                return None
            try:
                await asyncio.wait_for(ws.recv(), 2)
                await ws.recv()
            except (ConnectionClosed, TimeoutError):
                pass
            return ws

        racers = await asyncio.gather(*(one_more() for _ in range(20)))
        await asyncio.sleep(0.2)
        assert hub.hub.open_by_credential[hub.hub.credentials[next(iter(hub.hub.conns)).ws]] <= 10
        assert sum(1 for c in hub.hub.conns if hub.hub.credential_of(c).guest) == 10
        # The team still gets in, and can act.
        ana = await client(hub.url, "ana", "ic", incident, token=TOKENS["team"])
        assert (await ana.post(NoteAdded(text="we are in"))).op == "ack"
        # A closed guest connection frees its place.
        await held[0].close()
        await eventually(lambda: sum(hub.hub.credential_of(c).guest for c in hub.hub.conns) == 9)
        held[0] = await connect(hub.url, additional_headers=guest)
        for ws in held + [r for r in racers if r is not None]:
            await ws.close()
        await ana.close()


async def test_one_token_holds_only_so_many_connections(tmp_path):
    limits = HubLimits(per_token=5)
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS), limits=limits) as hub:
        held = [await greeted(hub.url, f"bot{i}", bearer("script")) for i in range(5)]
        with pytest.raises(InvalidStatus) as refused:
            await connect(hub.url, additional_headers=bearer("script"))
        assert refused.value.response.status_code == 429
        team = await greeted(hub.url, "ana", bearer("team"), role="responder")
        for ws in [*held, team]:
            await ws.close()


# --- defect 9: one budget for all the connections of a credential ---------------------------------
FLOODER = """
import asyncio, json, sys, time, uuid
from websockets.asyncio.client import connect

async def flood(url, headers, incident, name, seconds):
    sent = 0
    ws = await connect(url, additional_headers=headers)
    await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": name, "role": "responder"}))
    await ws.send(json.dumps({"op": "join", "incident": incident}))
    try:
        async with asyncio.timeout(seconds):
            while True:
                note = {"type": "note_added", "id": str(uuid.uuid4()), "text": "x" * 500}
                await ws.send(json.dumps({"op": "command", "command": note}))
                sent += 1
                await asyncio.sleep(0)
    except TimeoutError:
        pass
    ws.transport.abort()
    return sent

async def main(url, token, incident, seconds, connections):
    headers = {"Authorization": "Bearer " + token}
    counts = await asyncio.gather(
        *(flood(url, headers, incident, f"bot{i}", seconds) for i in range(connections))
    )
    print(sum(counts))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])))
"""


@ONE_AT_A_TIME
async def test_twenty_connections_of_one_credential_share_one_budget(tmp_path):
    """The bound the issue asks for: a bystander's ack p99 stays under 100 ms meanwhile.

    The hub runs in its own process (as in production), so the bystander's timings are the
    hub's, not this test's own event loop catching up with the flood's events.
    """
    seconds, connections, settle = 5.5, 20, 1.0
    rate, burst = HubLimits().credential_rate, HubLimits().credential_burst  # the defaults
    config = tmp_path / "hub.toml"
    config.write_text(
        "[tokens]\n"
        + "".join(f'{name} = "{secret}"\n' for name, secret in TOKENS.items())
        + "[limits]\nrate = 50\nburst = 200\n"
    )
    db = tmp_path / "hub.db"
    # Durability "normal": an ack then waits for the flood's share of the hub, not for fsyncs
    # competing with whatever else this machine's disk is doing (that is bench/'s business).
    hub = HubProcess(db, None, "--config", str(config), "--durability", "normal")
    hub.start()
    try:
        incident = await declare_incident(hub.url, token=TOKENS["team"])
        ana = await greeted(hub.url, "ana", bearer("team"), role="ic")
        await ana.send(json.dumps({"op": "join", "incident": incident}))
        await until(ana, lambda m: m["op"] == "synced")
        spawned = time.monotonic()  # no bot can send before this
        flood = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            FLOODER,
            hub.url,
            TOKENS["script"],
            incident,
            str(seconds),
            str(connections),
            stdout=asyncio.subprocess.PIPE,
        )
        bots: set[str] = set()
        while len(bots) < connections:  # every bot has joined: the flood is on
            msg = await until(ana, lambda m: m["op"] == "event", 15)
            if msg["event"]["type"] == "participant_joined":
                bots.add(msg["event"]["name"])
        # Their joins replay the log to each of them (already swelled by the flood's first
        # burst): a one-off cost of arriving, not of flooding. Measure the flood itself.
        started = time.monotonic()
        await asyncio.sleep(settle)
        acks = []
        while time.monotonic() - started < seconds - 1.0:
            command = {"type": "note_added", "id": str(uuid.uuid4()), "text": f"real {len(acks)}"}
            t0 = time.monotonic()
            await ana.send(json.dumps({"op": "command", "command": command}))
            reply = await until(ana, lambda m, cid=command["id"]: m.get("id") == cid, 5)
            acks.append(time.monotonic() - t0)
            assert reply["op"] == "ack", reply
            await asyncio.sleep(0.005)
        out, _ = await asyncio.wait_for(flood.communicate(), 30)
        flood_seconds = time.monotonic() - spawned
        sent = int(out.decode().split()[-1])
        await ana.close()
    finally:
        await hub.terminate()
    with sqlite3.connect(db) as reader:
        stored = reader.execute(
            "SELECT count(*) FROM events WHERE type = 'note_added' AND actor LIKE 'bot%'"
        ).fetchone()[0]
    assert sent > 3 * (burst + rate * flood_seconds), sent  # they did flood
    # One budget for the twenty: its burst and its rate, not twenty of each.
    assert stored <= burst + rate * flood_seconds, (stored, flood_seconds)
    acks.sort()
    p99 = acks[max(0, math.ceil(len(acks) * 0.99) - 1)]
    assert len(acks) > 100, len(acks)
    assert p99 < 0.1, (p99, statistics.median(acks), acks[-5:])


async def until(ws: Any, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if predicate(msg):
            return msg


# --- defect 6: a console that stops reading ---------------------------------------------------
@ONE_AT_A_TIME
async def test_a_stuck_reader_is_cut_off_in_bounded_time_and_shown_offline(tmp_path):
    """The IC's console stops reading. Keepalive pings cannot catch it (they queue behind the
    data it does not read); the hub cuts it off once its socket has been full for
    ``stall_timeout``, records that it left, and the team can claim the IC role."""
    limits = HubLimits(rate=0, credential_rate=0, stall_timeout=1.0)
    async with running_hub(
        tmp_path / "hub.db", limits=limits, ping_interval=3.0, ping_timeout=1.0, close_timeout=0.3
    ) as hub:
        # Keepalive pings on: the first goes out once the socket is already full, as in the
        # trial, so it waits behind the unread data and its timeout never starts.
        incident = await declare_incident(hub.url, name="ana")
        _, stuck = await raw_websocket(hub.port, rcvbuf=4096)
        stuck.write(
            masked_text(json.dumps({"op": "hello", "protocol": 2, "name": "ana", "role": "ic"}))
        )
        stuck.write(masked_text(json.dumps({"op": "join", "incident": incident})))
        await eventually(lambda: any(c.name == "ana" and c.room for c in hub.hub.conns))
        room = hub.hub.rooms[incident]
        assert room.state.ic == "ana" and room.state.participants["ana"].online
        bo = await client(hub.url, "bo", "responder", incident)
        refused = await bo.post(IcClaimed(previous="ana", reason="ana is not answering"))
        assert refused.op == "error" and refused.code == "ic_present"

        stuck_conn = next(c for c in hub.hub.conns if c.name == "ana")
        full_at: float | None = None

        async def watch() -> None:
            nonlocal full_at
            while full_at is None:
                if stuck_conn.ws.paused:
                    full_at = time.monotonic()
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        for _ in range(60):  # the team keeps working; the stuck console's socket fills
            if full_at is not None or stuck_conn not in hub.hub.conns:
                break
            futures = [bo.send(NoteAdded(text="y" * 3900)) for _ in range(50)]
            assert all(r.op == "ack" for r in await asyncio.wait_for(asyncio.gather(*futures), 10))
        watcher.cancel()
        assert full_at is not None, "the socket never filled"
        await eventually(lambda: stuck_conn not in hub.hub.conns, timeout=5)
        cut_after = time.monotonic() - full_at
        assert cut_after < limits.stall_timeout + 2, cut_after
        await eventually(lambda: not room.state.participants["ana"].online)
        claim = await bo.post(IcClaimed(previous="ana", reason="ana is not answering"))
        assert claim.op == "ack", claim
        assert room.state.ic == "bo"
        stuck.close()
        await bo.close()


async def test_a_slow_reader_that_makes_progress_is_not_cut_off(tmp_path):
    """The stall limit is about no progress at all: a console that reads, however slowly
    compared with the flood, keeps its connection."""
    limits = HubLimits(rate=0, credential_rate=0, stall_timeout=1.0)
    async with running_hub(tmp_path / "hub.db", limits=limits, ping_interval=None) as hub:
        incident = await declare_incident(hub.url, name="ana")
        reader, slow = await raw_websocket(hub.port, rcvbuf=4096)
        slow.write(masked_text(json.dumps({"op": "hello", "protocol": 2, "name": "slow"})))
        slow.write(masked_text(json.dumps({"op": "join", "incident": incident})))
        await eventually(lambda: any(c.name == "slow" and c.room for c in hub.hub.conns))
        conn = next(c for c in hub.hub.conns if c.name == "slow")
        bo = await client(hub.url, "bo", "responder", incident)
        for _ in range(60):  # until the hub has to wait for it
            if conn.ws.paused:
                break
            futures = [bo.send(NoteAdded(text="z" * 3900)) for _ in range(20)]
            await asyncio.wait_for(asyncio.gather(*futures), 20)
        assert conn.ws.paused
        # Reads 16 KB every 0.3 s: far slower than the hub writes, but never stuck for the
        # stall timeout.
        deadline = time.monotonic() + 4
        pressed = 0
        while time.monotonic() < deadline:
            pressed += conn.ws.paused  # the hub really was waiting for it to read
            await asyncio.wait_for(reader.read(16384), 5)
            await asyncio.sleep(0.3)
        assert pressed >= 3, pressed
        assert conn in hub.hub.conns and room_online(hub, incident, "slow")
        slow.close()
        await bo.close()


def room_online(hub: Any, incident: str, name: str) -> bool:
    return hub.hub.rooms[incident].state.participants[name].online


def test_the_per_credential_limits_are_set_in_the_config_file(tmp_path):
    from warroom.hub.app import HubConfigError
    from warroom.hub.config import apply_config_file, load_config_file

    path = tmp_path / "hub.toml"
    path.write_text(
        "[limits]\ncredential_rate = 40\ncredential_burst = 400\nper_code = 12\n"
        "per_token = 300\nstall_timeout = 15\n"
    )
    config = apply_config_file(HubConfig(), load_config_file(path))
    assert (
        config.limits.credential_rate,
        config.limits.credential_burst,
        config.limits.per_code,
        config.limits.per_token,
        config.limits.stall_timeout,
    ) == (40.0, 400, 12, 300, 15.0)
    path.write_text('[limits]\nper_code = "many"\n')
    with pytest.raises(HubConfigError, match="per_code"):
        apply_config_file(HubConfig(), load_config_file(path))
