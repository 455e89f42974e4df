"""Issue 15, defects 8, 10 and 11, against a real hub with raw websocket frames.

- Every frame gets exactly one answer and no input closes a connection with 1011 (defect 11:
  ``{"op": {}}`` and JSON nested 1,000 deep used to kill the connection with a traceback).
- A refused repeat ``hello`` leaves nobody shown online for ever (defect 10).
- Re-sending ``join`` for the incident a connection has already joined records nothing
  (defect 8: 1,315 join frames from an observer stored 2,611 presence events).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warroom.hub.hub import HubLimits
from websockets.asyncio.client import connect
from websockets.protocol import State

from tests.helpers import declare_incident, eventually, recv_json, running_hub, until
from tests.test_fuzz_support import LiveHub

#: No rate limit here: a ``slow_down`` notice would be a second answer to one frame.
UNLIMITED = HubLimits(rate=0, credential_rate=0)


async def exactly_one_answer(ws: Any, frame: str | bytes) -> dict[str, Any]:
    """Send ``frame`` and a ping behind it: exactly two messages come back (the frame's answer
    and the pong, in either order, as commands are answered by the writer), then a second ping
    is answered next, so the frame got exactly one answer and the connection is still served."""
    await ws.send(frame)
    await ws.send(json.dumps({"op": "ping"}))
    first, second = await recv_json(ws), await recv_json(ws)
    replies = [first, second]
    pongs = [m for m in replies if m["op"] == "pong"]
    assert pongs, (frame, replies)
    answer = next((m for m in replies if m["op"] != "pong"), pongs[0])
    assert answer["op"] in ("error", "pong", "welcome", "ack"), (frame, answer)
    await ws.send(json.dumps({"op": "ping"}))
    assert (await recv_json(ws))["op"] == "pong", frame
    assert ws.state is State.OPEN
    return answer


def nested(depth: int, inner: Any = 1) -> Any:
    value = inner
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


async def test_a_non_string_op_is_bad_message_and_the_connection_stays(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED) as hub, connect(hub.url) as ws:
        for op in ({}, [], ["hello"], 1, 1.5, None, True, {"op": "hello"}):
            answer = await exactly_one_answer(ws, json.dumps({"op": op}))
            assert answer["op"] == "error" and answer["code"] == "bad_message", (op, answer)
            assert "op" in answer["message"]
        await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": "ana"}))
        assert (await recv_json(ws))["op"] == "welcome"
        answer = await exactly_one_answer(ws, json.dumps({"op": "command", "command": {}}))
        assert answer["code"] in ("invalid", "bad_message")


async def test_deeply_nested_json_is_bad_json_and_the_connection_stays(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED) as hub:
        incident = await declare_incident(hub.url)
        async with connect(hub.url) as ws:
            await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": "ana"}))
            assert (await recv_json(ws))["op"] == "welcome"
            deep = "[" * 1000 + "]" * 1000
            frames = [
                deep,
                "{" + '"a":{' * 999 + "}" * 1000,
                json.dumps({"op": "command", "command": nested(900)}),
                json.dumps({"op": "hello", "protocol": 2, "name": nested(500)}),
                json.dumps(
                    {
                        "op": "command",
                        "command": {
                            "type": "note_added",
                            "incident_id": incident,
                            "id": str(uuid.uuid4()),
                            "text": "x",
                            "extra": nested(800),
                        },
                    }
                ),
            ]
            for frame in frames:
                answer = await exactly_one_answer(ws, frame)
                assert answer == {**answer, "op": "error", "code": "bad_json"}, answer
                assert "deep" in answer["message"]
            # Ordinary nesting is read as usual (and refused for what it says, not its depth).
            note = {"type": "note_added", "incident_id": incident, "text": "x", "x": nested(20)}
            answer = await exactly_one_answer(ws, json.dumps({"op": "command", "command": note}))
            assert answer["op"] == "error" and answer["code"] != "bad_json", answer
        assert hub.hub.health()["status"] == "ok"


# --- a small fuzz over frame shapes ------------------------------------------------------------
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
ops = st.one_of(
    st.sampled_from(["hello", "join", "command", "ping", "pong", "event", "", "Hello"]),
    json_values,
)
shapes = st.fixed_dictionaries(
    {"op": ops},
    optional={
        "name": json_values,
        "role": json_values,
        "incident": json_values,
        "since": json_values,
        "presence": json_values,
        "command": json_values,
        "protocol": json_values,
    },
)
frames = st.one_of(
    shapes.map(json.dumps),
    st.builds(lambda depth, shape: json.dumps(nested(depth, shape)), st.integers(1, 1500), shapes),
    json_values.map(json.dumps),
    st.binary(max_size=40),
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(greet=st.booleans(), sequence=st.lists(frames, min_size=1, max_size=6))
def test_every_frame_gets_exactly_one_answer_and_never_1011(frames_hub, greet, sequence):
    async def scenario() -> None:
        async with connect(frames_hub.url, max_size=None) as ws:
            if greet:
                await ws.send(
                    json.dumps({"op": "hello", "protocol": 2, "name": "fuzz", "role": "observer"})
                )
                assert (await recv_json(ws))["op"] == "welcome"
            for frame in sequence:
                await exactly_one_answer(ws, frame)
        assert frames_hub.hub.health()["status"] == "ok"

    frames_hub.run(scenario())


@pytest.fixture(scope="module")
def frames_hub(tmp_path_factory):
    live = LiveHub(tmp_path_factory.mktemp("frames") / "hub.db")
    live.hub.limits = UNLIMITED
    try:
        yield live
    finally:
        live.close()


# --- defect 10: a refused repeat hello -------------------------------------------------------
async def test_a_refused_repeat_hello_leaves_nobody_shown_online(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=HubLimits(per_name=1)) as hub:
        incident = await declare_incident(hub.url)
        ws = await connect(hub.url)
        await ws.send(json.dumps({"op": "hello", "protocol": 2, "name": "ic-ana", "role": "ic"}))
        assert (await recv_json(ws))["op"] == "welcome"
        await ws.send(json.dumps({"op": "join", "incident": incident}))
        await until(ws, "synced")
        room = hub.hub.rooms[incident]
        assert room.state.participants["ic-ana"].online
        # The same hello again, and hellos that try to change who this connection is: each is
        # answered, none changes the connection's identity.
        for hello in (
            {"op": "hello", "protocol": 2, "name": "ic-ana", "role": "ic"},
            {"op": "hello", "protocol": 2, "name": "ic-ana", "role": "scribe"},
            {"op": "hello", "protocol": 2, "name": "bo", "role": "responder"},
            {"op": "hello", "protocol": 2, "name": "", "role": "ic"},
            {"op": "hello", "protocol": 2, "name": " ", "role": "ic"},
            {"op": "hello", "protocol": 2, "name": "ic-ana", "role": "hub"},
        ):
            answer = await exactly_one_answer(ws, json.dumps(hello))
            assert answer["op"] in ("welcome", "error"), answer
            if answer["op"] == "welcome":
                assert answer["name"] == "ic-ana" and answer["role"] == "ic"
        conn = next(c for c in hub.hub.conns if c.room is room)
        identity = (conn.name, conn.seat)
        await ws.close()
        await eventually(lambda: not room.state.participants["ic-ana"].online)
        assert "ic-ana" not in room.online and "" not in room.online
        assert identity == ("ic-ana", "ic")


# --- defect 8: re-sending join -------------------------------------------------------------------
async def test_re_sending_join_records_nothing(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED) as hub:
        incident = await declare_incident(hub.url)
        ws = await connect(hub.url)
        await ws.send(
            json.dumps({"op": "hello", "protocol": 2, "name": "watcher", "role": "observer"})
        )
        assert (await recv_json(ws))["op"] == "welcome"
        await ws.send(json.dumps({"op": "join", "incident": incident}))
        await until(ws, "synced")
        stored = hub.store.count(incident)
        for since in (0, 1, 3, 0, 2) * 40:
            await ws.send(json.dumps({"op": "join", "incident": incident, "since": since}))
            await ws.send(
                json.dumps({"op": "join", "incident": incident, "presence": False, "since": since})
            )
        await until(ws, "synced")
        conn = next(c for c in hub.hub.conns if c.name == "watcher")
        room = hub.hub.rooms[incident]
        await eventually(lambda: conn.cursor == room.head and not conn.synced_pending)
        await ws.send(json.dumps({"op": "ping"}))
        await until(ws, "pong")
        assert hub.store.count(incident) == stored, "a re-join wrote presence events"
        assert room.online == {"watcher": 1} and room.state.participants["watcher"].online
        # Still present as it first joined (a re-join asking for no presence changed nothing),
        # and leaving is recorded once.
        assert not conn.reader_only
        await ws.close()
        await eventually(lambda: not room.state.participants["watcher"].online)
        assert hub.store.count(incident) == stored + 1
