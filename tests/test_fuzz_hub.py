"""Hypothesis against a live hub: arbitrary frames, and arbitrary sequences of commands.

Invariants checked after every step or example:

- the hub stays up and answers every frame with a well-formed message;
- a refused command changes nothing (every incident's state hash is unchanged) and is counted;
- an accepted command adds exactly one event; a re-sent one is acknowledged as a duplicate;
- every console that stays connected converges to the hub's state hash;
- the stored log of each incident folds to exactly the state the hub serves.

``WARROOM_LONG_TESTS=1`` runs many more examples; ``WARROOM_FUZZ_REPORT=FILE`` writes the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.protocol import State

from tests.helpers import eventually, fast_backoff
from tests.test_fuzz_support import (
    ACTORS,
    FIGURES,
    LONG,
    LiveHub,
    any_json,
    check_store_folds_to_served_state,
    commands,
    hub_hash,
    names,
    state_hash,
)
from warroom.client.lobby import declare
from warroom.client.sync import IncidentClient
from warroom.core.incident import NoteAdded, RoleAssigned
from warroom.core.lock import LockRequested
from warroom.core.protocol import HUB_ADAPTER, Error, Ping, ProtocolError, parse_client_message

PLACEHOLDER = "@incident@"
FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    hub = LiveHub(tmp_path_factory.mktemp("fuzz") / "hub.db")
    try:
        yield hub
        # After every example of the module: the whole stored log still folds to what is served.
        hub.run(check_store_folds_to_served_state(hub, set(hub.hub.rooms)))
        FIGURES["incidents"] += len(hub.hub.rooms)
    finally:
        hub.close()
        report = os.environ.get("WARROOM_FUZZ_REPORT")
        if report:
            with open(report, "a") as fh:
                fh.write(json.dumps(dict(FIGURES)) + "\n")


def _frame(value: Any) -> str | bytes:
    return value if isinstance(value, bytes) else json.dumps(value)


message_like = st.fixed_dictionaries(
    {"op": st.sampled_from(["hello", "join", "command", "ping", "pong", "", "HELLO"])},
    optional={
        "name": names,
        "role": st.sampled_from(list(ACTORS.values()) + ["hub", "god"]) | any_json,
        "incident": st.just(PLACEHOLDER) | st.text(max_size=90),
        "since": st.integers(-3, 10**9) | any_json,
        "presence": st.booleans() | any_json,
        "command": commands(PLACEHOLDER) | any_json,
        "protocol": st.integers(-1, 3),
    },
)
frames = st.one_of(
    any_json.map(json.dumps),
    st.text(max_size=300),
    st.binary(max_size=300),
    message_like.map(json.dumps),
    commands(PLACEHOLDER).map(lambda c: json.dumps({"op": "command", "command": c})),
)


def _is_ping(frame: str | bytes) -> bool:
    try:
        return isinstance(parse_client_message(frame), Ping)
    except ProtocolError:
        return False


async def _frames_scenario(live: LiveHub, greet: bool, sequence: list[str | bytes]) -> None:
    incident = await declare(live.url, "ana", title="fuzz", severity="SEV3")
    sequence = [f.replace(PLACEHOLDER, incident) if isinstance(f, str) else f for f in sequence]
    pongs_due = sum(_is_ping(f) for f in sequence) + 1
    async with connect(live.url, max_size=None) as ws:
        if greet:
            await ws.send(
                json.dumps({"op": "hello", "protocol": 2, "name": "fuzzer", "role": "responder"})
            )
            await ws.send(json.dumps({"op": "join", "incident": incident}))
        for frame in sequence:
            await ws.send(frame)
        await ws.send(json.dumps({"op": "ping"}))
        pongs = errors = 0
        while pongs < pongs_due:
            msg = HUB_ADAPTER.validate_json(await asyncio.wait_for(ws.recv(), 10))
            if isinstance(msg, Error):
                assert msg.code and msg.message
                errors += 1
            pongs += msg.op == "pong"
        assert ws.state is State.OPEN
    FIGURES["frames"] += len(sequence)
    FIGURES["frame_errors"] += errors
    assert live.hub.health()["status"] == "ok"
    await check_store_folds_to_served_state(live, {incident})


@settings(FUZZ_SETTINGS, max_examples=1500 if LONG else 50)
@given(greet=st.booleans(), sequence=st.lists(frames, min_size=1, max_size=12))
def test_arbitrary_frames_get_an_answer_and_never_hurt_the_hub(live, greet, sequence):
    live.run(_frames_scenario(live, greet, sequence))


async def _reply_to(ws, command_id: Any) -> dict[str, Any]:
    """The ack or error for the command just sent (the events the connection follows, as a
    joined one must, are skipped)."""
    while (msg := json.loads(await asyncio.wait_for(ws.recv(), 10)))["op"] in (
        "event",
        "joined",
        "synced",
    ):
        pass
    assert msg["op"] in ("ack", "error"), msg
    if msg.get("id") is not None and command_id is not None:
        assert msg["id"] == str(command_id)
    return msg


async def _sequence_scenario(live: LiveHub, steps: list[tuple[str, Any]]) -> None:
    hub = live.hub
    incident = await declare(live.url, "ana", title="fuzz sequence", severity="SEV2")
    consoles = {
        name: IncidentClient(live.url, name, role, incident, backoff=fast_backoff())
        for name, role in ACTORS.items()
    }
    senders = {}
    try:
        for console in consoles.values():
            console.start()
            await console.wait_synced()
        for name, role in ACTORS.items():
            senders[name] = await connect(live.url)
            await senders[name].send(
                json.dumps({"op": "hello", "protocol": 2, "name": name, "role": role})
            )
            assert json.loads(await senders[name].recv())["op"] == "welcome"
            # The hub takes commands only for an incident the connection joined.
            await senders[name].send(json.dumps({"op": "join", "incident": incident}))
            while json.loads(await senders[name].recv())["op"] != "synced":
                pass
        sent: dict[str, list[tuple[str, dict[str, Any]]]] = {n: [] for n in ACTORS}
        for name, step in steps:
            if step == "resend":
                if not sent[name]:
                    continue
                frame, first = sent[name][-1]
            else:
                command = json.loads(json.dumps(step).replace(PLACEHOLDER, incident))
                frame, first = json.dumps({"op": "command", "command": command}), {}
            command_id = json.loads(frame)["command"].get("id")
            before, accepted, refused = hub_hash(hub), hub.accepted, hub.refused
            await senders[name].send(frame)
            reply = await _reply_to(senders[name], command_id)
            FIGURES["commands"] += 1
            if reply["op"] == "error":
                FIGURES["refused"] += 1
                FIGURES[f"refused:{reply['code']}"] += 1
                assert hub_hash(hub) == before, f"refused {reply['code']} changed the state"
                assert hub.accepted == accepted and hub.refused == refused + 1
            elif reply["duplicate"]:
                FIGURES["duplicates"] += 1
                assert first.get("op") == "ack" and reply["seq"] == first["seq"]
                assert hub_hash(hub) == before and hub.accepted == accepted
            else:
                FIGURES["accepted"] += 1
                assert hub.accepted == accepted + 1 and hub_hash(hub) != before
                assert first.get("op") != "ack", "a re-sent command was stored twice"
            sent[name].append((frame, reply))

        room = hub.rooms[incident]
        await eventually(
            lambda: all(c.last_seq == room.head for c in consoles.values()), timeout=10
        )
        served = state_hash(room.state)
        for console in consoles.values():
            assert state_hash(console.state) == served, f"{console.name} diverged"
            assert [e.seq for e in console.log] == list(range(1, room.head + 1))
        touched = {incident} | {
            r["incident"] for v in sent.values() for _, r in v if r.get("op") == "ack"
        }
        await check_store_folds_to_served_state(live, touched)
    finally:
        for ws in senders.values():
            await ws.close()
        for console in consoles.values():
            await console.close()


steps = st.lists(
    st.tuples(
        st.sampled_from(list(ACTORS)),
        st.one_of(commands(PLACEHOLDER), commands(PLACEHOLDER), st.just("resend")),
    ),
    min_size=4,
    max_size=60 if LONG else 25,
)


@settings(FUZZ_SETTINGS, max_examples=400 if LONG else 30)
@given(steps=steps)
def test_command_sequences_keep_every_invariant(live, steps):
    live.run(_sequence_scenario(live, steps), timeout=120)


def test_a_flood_of_concurrent_valid_and_invalid_commands_converges(live):
    """Four consoles pipelining at once (no step-by-step checks): they still converge."""

    async def scenario() -> None:
        incident = await declare(live.url, "ana", title="fuzz burst", severity="SEV2")
        consoles = [
            IncidentClient(live.url, n, r, incident, backoff=fast_backoff())
            for n, r in ACTORS.items()
        ]
        for c in consoles:
            c.start()
            await c.wait_synced()
        rounds = 100 if LONG else 25
        futures = []
        for i in range(rounds):
            for c in consoles:
                futures.append(c.send(NoteAdded(text=f"{c.name} {i}")))
                futures.append(c.send(RoleAssigned(assigned_role="scribe", holder=c.name)))
                futures.append(c.send(LockRequested()))
        replies = await asyncio.wait_for(asyncio.gather(*futures), 60)
        FIGURES["commands"] += len(replies)
        FIGURES["accepted"] += sum(r.op == "ack" for r in replies)
        FIGURES["refused"] += sum(r.op == "error" for r in replies)
        room = live.hub.rooms[incident]
        await eventually(lambda: all(c.last_seq == room.head for c in consoles), timeout=20)
        assert len({state_hash(c.state) for c in consoles} | {state_hash(room.state)}) == 1
        notes = [e for e in consoles[0].log if e.type == "note_added"]
        assert len(notes) == rounds * 3  # the observer's were refused
        assert len({e.id for e in consoles[0].log}) == len(consoles[0].log)
        await check_store_folds_to_served_state(live, {incident})
        for c in consoles:
            await c.close()

    live.run(scenario(), timeout=120)


def test_unknown_ids_everywhere_are_refused_cleanly(live):
    """Commands that name things that do not exist: unknown incident, card, decision, code."""

    async def scenario() -> None:
        incident = await declare(live.url, "ana", title="fuzz ids", severity="SEV2")
        ana = IncidentClient(live.url, "ana", "ic", incident, backoff=fast_backoff())
        ana.start()
        await ana.wait_synced()
        before = hub_hash(live.hub)
        probes = [
            {"type": "note_added", "incident_id": "inc-nope", "text": "x"},
            {"type": "join_code_revoked", "code_id": "deadbeef"},
            {"type": "lock_released", "token": 999},
            {"type": "action_finished", "action": str(uuid.uuid4()), "outcome": "done"},
        ]
        async with connect(live.url) as ws:
            await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": "ana", "role": "ic"}))
            await ws.recv()
            await ws.send(json.dumps({"op": "join", "incident": incident}))
            while json.loads(await ws.recv())["op"] != "synced":
                pass
            for probe in probes:
                probe = {"id": str(uuid.uuid4()), "incident_id": incident, **probe}
                await ws.send(json.dumps({"op": "command", "command": probe}))
                reply = await _reply_to(ws, probe["id"])
                assert reply["op"] == "error", (probe, reply)
        assert hub_hash(live.hub) == before
        await ana.close()

    live.run(scenario())
