"""The rights matrix, proven against a real hub: who may record what.

Each right is tried by everyone who does not have it first (each must be refused, counted, and
leave the incident exactly as it was), then by someone who has it (it must be accepted, which
shows the refusals were about rights and not about a malformed command). Event types are taken
from the registry, so a right whose event type does not exist (yet) is skipped, not faked.
"""

from __future__ import annotations

import hashlib
import typing
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from tests.helpers import client, declare_incident, eventually, running_hub
from warroom.client.sync import IncidentClient
from warroom.core.actions import ActionStarted
from warroom.core.comms import UpdatePublished
from warroom.core.events import ENVELOPE_FIELDS, EVENT_TYPES, EventBase
from warroom.core.lock import LockForceReleased, LockReleased, LockRequested
from warroom.core.log import EventError, parse_event

#: name -> the seat each asks for (the hub gives vacant held seats to whoever asks first).
ROOM = {
    "ana": "ic",
    "sam": "scribe",
    "cam": "comms",
    "lee": "lead",
    "rey": "responder",
    "obi": "observer",
}


class Room:
    """One incident with a console per seat, and a way to try a command as anyone."""

    def __init__(self, server: Any, incident: str, consoles: dict[str, IncidentClient]) -> None:
        self.server = server
        self.hub = server.hub
        self.incident = incident
        self.consoles = consoles

    @property
    def state(self):  # noqa: ANN201
        return self.hub.rooms[self.incident].state

    def fingerprint(self) -> tuple[str, int]:
        state = self.state.model_dump_json().encode()
        return hashlib.sha256(state).hexdigest(), self.server.store.count(self.incident)

    async def refused(self, name: str, command: EventBase, codes: set[str]) -> None:
        """``name`` may not record this: an error, counted, and nothing changed or stored."""
        event_type = command.type
        before, refused = self.fingerprint(), self.hub.refused
        reply = await self.consoles[name].post(command)
        assert reply.op == "error", f"{name} ({ROOM[name]}) was allowed {event_type}"
        assert reply.code in codes, (name, event_type, reply.code, reply.message)
        assert self.fingerprint() == before, f"a refused {event_type} changed the incident"
        assert self.hub.refused == refused + 1

    async def allowed(self, name: str, command: EventBase) -> int:
        event_type = command.type
        reply = await self.consoles[name].post(command)
        assert reply.op == "ack", (name, event_type, getattr(reply, "message", reply))
        return reply.seq


@pytest.fixture
async def room(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        incident = await declare_incident(server.url, name="ana")
        consoles = {n: await client(server.url, n, seat, incident) for n, seat in ROOM.items()}
        r = Room(server, incident, consoles)
        await eventually(
            lambda: all(c.last_seq == server.hub.rooms[incident].head for c in consoles.values())
        )
        for seat in ("ic", "scribe", "comms", "lead"):
            assert r.state.holder(seat) == next(n for n, s in ROOM.items() if s == seat)
        yield r
        for c in consoles.values():
            await c.close()


def needs(*event_types: str) -> None:
    """Fail, never skip, when a rights test names an event type the core does not know.

    A skip here once let a renamed event type silently drop its rights tests.
    """
    missing = [t for t in event_types if t not in EVENT_TYPES]
    if missing:
        pytest.fail(f"rights test names event types the core does not define: {missing}")


def test_needs_fails_on_an_unknown_event_type() -> None:
    """A renamed event type makes its rights tests fail instead of quietly skipping them."""
    with pytest.raises(pytest.fail.Exception, match="no_such_event"):
        needs("decision_recorded", "no_such_event")
    needs("decision_recorded")


def others(*allowed: str) -> list[str]:
    return [n for n in ROOM if n not in allowed and n != "obi"]


# --- IC-only commands --------------------------------------------------------------------------
IC_ONLY: list[tuple[str, dict[str, Any]]] = [
    ("decision_recorded", {"what": "Roll back checkout to v41", "why": "5xx since the deploy"}),
    ("severity_changed", {"severity": "SEV1", "reason": "card payments failing"}),
    ("phase_changed", {"phase": "triage"}),
    ("role_assigned", {"assigned_role": "lead", "holder": "rey"}),
    ("join_code_created", {"code_id": "0badc0de", "digest": "ab" * 32}),
    ("runbook_attached", {"runbook": "roll-back", "title": "Roll back", "steps": [{"do": "x"}]}),
    ("change_freeze_set", {"targets": ["checkout-api"], "reason": "rollback first"}),  # #19
]


@pytest.mark.parametrize(("event_type", "payload"), IC_ONLY, ids=[t for t, _ in IC_ONLY])
async def test_only_the_ic_may(room, event_type, payload):
    needs(event_type)
    for name in others("ana"):
        await room.refused(name, EVENT_TYPES[event_type](**payload), {"forbidden"})
    await room.allowed("ana", EVENT_TYPES[event_type](**payload))


async def test_only_the_ic_may_force_release_the_lock(room):
    needs("lock_requested", "lock_force_released")
    await room.allowed("lee", LockRequested())
    token = room.state.lock.token
    assert room.state.lock.holder == "lee"
    for name in others("ana"):  # the holder included: force is the IC's override
        await room.refused(name, LockForceReleased(token=token, reason="stuck"), {"forbidden"})
    await room.allowed("ana", LockForceReleased(token=token, reason="lee is unreachable"))
    assert room.state.lock.holder is None


async def test_only_the_comms_lead_or_the_ic_publish_updates(room):
    needs("update_published")
    update = {"audience": "internal", "text": "We are investigating checkout errors."}
    for name in others("ana", "cam"):
        await room.refused(name, UpdatePublished(**update), {"forbidden"})
    await room.allowed("cam", UpdatePublished(**update))
    await room.allowed("ana", UpdatePublished(**{**update, "text": "Rolling back now."}))


# --- production actions: lock holder with the current fencing token ----------------------------
ACTION = {
    "kind": "rollback",
    "target": "checkout",
    "expected": "5xx back under 0.1%",
    "metric": "checkout 5xx rate",
    "value_before": "12%",
}
FENCED = {"not_holder", "stale_token", "forbidden", "lease_expired", "no_lock", "not_locked"}


async def test_only_the_lock_holder_with_the_current_token_changes_production(room):
    needs("lock_requested", "lock_released", "action_started")
    await room.refused("rey", ActionStarted(token=1, **ACTION), FENCED)  # no lock at all
    await room.allowed("rey", LockRequested())
    await room.allowed("lee", LockRequested())  # queued behind rey
    token = room.state.lock.token
    for name in (
        "ana",
        "sam",
        "cam",
        "lee",
    ):  # the IC too: rights to change prod come from the lock
        await room.refused(name, ActionStarted(token=token, **ACTION), FENCED)
    await room.refused("rey", ActionStarted(token=token + 7, **ACTION), FENCED)
    await room.allowed("rey", ActionStarted(token=token, **ACTION))
    await room.allowed("rey", LockReleased(token=token))
    assert room.state.lock.holder == "lee" and room.state.lock.token > token
    # rey's old token is dead; lee's is live.
    await room.refused("rey", ActionStarted(token=token, **ACTION), FENCED)
    await room.allowed("lee", ActionStarted(token=room.state.lock.token, **ACTION))


# --- observers ---------------------------------------------------------------------------------
def minimal_payload(cls: type[BaseModel]) -> dict[str, Any] | None:
    """Some schema-valid payload for ``cls`` (required fields only), or None if not obvious."""
    payload: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if name in ENVELOPE_FIELDS or not info.is_required():
            continue
        kind = info.annotation
        args = typing.get_args(kind)
        if isinstance(kind, type) and issubclass(kind, str) and hasattr(kind, "__members__"):
            payload[name] = next(iter(kind.__members__.values())).value
        elif kind is str:
            pattern = next((m.pattern for m in info.metadata if getattr(m, "pattern", None)), None)
            payload[name] = {"^[0-9a-f]{8}$": "0badc0de", "^[0-9a-f]{64}$": "ab" * 32}.get(
                pattern or "", "rey"
            )
        elif kind is int:
            payload[name] = 1
        elif kind is uuid.UUID:
            payload[name] = str(uuid.uuid4())
        elif type(None) in args:
            payload[name] = None
        else:
            return None
    try:
        parse_event({"type": cls.model_fields["type"].default, "id": str(uuid.uuid4()), **payload})
    except EventError:
        return None
    return payload


async def test_observers_write_nothing_whatever_they_send(room):
    tried = 0
    for event_type, cls in EVENT_TYPES.items():
        payload = minimal_payload(cls)
        if payload is None or event_type == "incident_declared":
            continue
        expected = {"hub_only"} if cls.hub_only else {"forbidden"}
        await room.refused("obi", cls(**payload), expected)
        tried += 1
    assert tried >= 10, "too few event types could be tried"
    assert room.state.participants["obi"].seat == "observer"
