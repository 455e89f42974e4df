"""Names the hub can prove: the adversarial trial's identity defects, attacked as an outsider would.

Every test runs a real hub on 127.0.0.1 and speaks raw websocket frames to it, as the trial's
harness did: a guest that says the IC's name, commands for an incident the connection never
joined, notes stored under the predicted ids of the hub's own timers, an event id of another
incident, names that look alike, personal tokens used for the wrong name, and two consoles
racing for one seat. Each right is tried refused by someone without it and accepted for
someone with it, so the refusals are about rights and not about a malformed command.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from warroom.hub.storage import Store
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import T0, client, declare_incident, eventually, fast_backoff, running_hub
from warroom.client.sync import IncidentClient
from warroom.core import timers
from warroom.core.access import JOIN_CODE_HEADER, JoinCodeCreated, JoinCodeRevoked, new_join_code
from warroom.core.board import BoardItemAdded
from warroom.core.clock import ManualClock
from warroom.core.decisions import DecisionRecorded
from warroom.core.events import Actor, EventBase
from warroom.core.handoff import HandoffOffered, IcClaimed
from warroom.core.incident import NoteAdded
from warroom.core.lock import LockRequested
from warroom.core.state import IncidentState

RAW = logging.getLogger("tests.raw_client")
TOKENS = {"oncall": "s3cret-oncall-token"}
SHARED = {"Authorization": f"Bearer {TOKENS['oncall']}"}


#: Errors that answer no message: the hub is pacing this credential (``slow_down``, sent when one
#: credential's connections send faster than its share; the message is still read, later).
NOTICES = ("slow_down",)


class Wire:
    """One raw websocket connection, driven frame by frame."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict] = []

    @classmethod
    async def open(cls, url: str, headers: dict | None = None) -> Wire:
        return cls(await connect(url, additional_headers=headers or {}, logger=RAW))

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    async def until(self, predicate: Any, timeout: float = 5.0) -> dict:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            self.seen.append(message)
            if predicate(message):
                return message

    async def hello(self, name: str, role: str = "responder") -> dict:
        await self.send({"op": "hello", "protocol": 2, "name": name, "role": role})
        return await self.until(
            lambda m: m["op"] == "welcome" or (m["op"] == "error" and m["code"] not in NOTICES)
        )

    async def join(self, incident: str) -> dict:
        await self.send({"op": "join", "incident": incident})
        reply = await self.until(
            lambda m: (
                m["op"] == "joined"
                or (m["op"] == "error" and m["code"] not in ("seat_taken", *NOTICES))
            )
        )
        if reply["op"] == "joined":
            await self.until(lambda m: m["op"] == "synced")
        return reply

    async def command(self, type_: str, id: uuid.UUID | str | None = None, **payload: Any) -> dict:
        cid = str(id or uuid.uuid4())
        await self.send({"op": "command", "command": {"type": type_, "id": cid, **payload}})
        return await self.until(lambda m: m["op"] in ("ack", "error") and m.get("id") == cid)


def fingerprint(server: Any, incident: str) -> tuple[str, int]:
    state = server.hub.rooms[incident].state.model_dump_json().encode()
    return hashlib.sha256(state).hexdigest(), server.store.count()


def reply_text(reply: dict) -> str:
    return json.dumps(reply)


def guest_client(url: str, name: str, role: str, incident: str, code: str) -> IncidentClient:
    c = IncidentClient(url, name, role, incident, join_code=code, backoff=fast_backoff())
    c.start()
    return c


async def code_for(ic: IncidentClient, incident: str, seat_limit: str = "responder") -> str:
    issued = new_join_code(incident)
    reply = await ic.post(
        JoinCodeCreated(code_id=issued.code_id, digest=issued.digest, seat_limit=seat_limit)
    )
    assert reply.op == "ack", reply
    return issued.code


# --- defect 1: a guest acting as the IC --------------------------------------------------------
async def test_a_guest_who_says_the_ics_name_cannot_act_as_the_ic_or_take_the_incident(tmp_path):
    """The trial's exact scenario: hello as the IC, join refused, commands sent anyway."""
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        incident = await declare_incident(server.url, name="ana", token=TOKENS["oncall"])
        ana = await client(server.url, "ana", "ic", incident, token=TOKENS["oncall"])
        code = await code_for(ana, incident)
        before = fingerprint(server, incident)

        mallory = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        welcome = await mallory.hello("ana", "responder")
        assert welcome["op"] == "welcome"
        refused_join = await mallory.join(incident)
        assert refused_join["op"] == "error" and "member of the team" in refused_join["message"]
        other_name = new_join_code(incident)
        attacks = [
            ("decision_recorded", {"what": "Drop the database", "why": "I said so"}),
            ("severity_changed", {"severity": "SEV4", "reason": "nothing to see"}),
            ("join_code_created", {"code_id": other_name.code_id, "digest": other_name.digest}),
            ("handoff_offered", {"offered_role": "ic", "to": "guest:mal2"}),
            ("ic_claimed", {"previous": "ana"}),
            ("note_added", {"text": "hello from ana (not really)"}),
        ]
        for type_, payload in attacks:
            reply = await mallory.command(type_, incident_id=incident, **payload)
            assert reply["op"] == "error" and reply["code"] == "not_joined", (type_, reply)
        assert fingerprint(server, incident) == before, "a refused command changed the incident"
        assert welcome["name"] == "guest:ana"  # and it was marked a guest from its hello on
        await mallory.close()

        # Nothing was stored as ana, and the real IC keeps every right: codes, decisions.
        stored = list(server.store.events(incident))
        assert all(e.actor != "ana" or e.type != "decision_recorded" for e in stored)
        assert (await ana.post(JoinCodeRevoked(code_id=code.split(":")[1]))).op == "ack"
        assert (await ana.post(DecisionRecorded(what="Roll back", why="5xx"))).op == "ack"
        await ana.close()


async def test_a_joined_guest_is_stamped_as_a_guest_and_has_no_ic_powers(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        incident = await declare_incident(server.url, name="ana", token=TOKENS["oncall"])
        ana = await client(server.url, "ana", "ic", incident, token=TOKENS["oncall"])
        code = await code_for(ana, incident)
        vic = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        assert (await vic.hello("vic"))["name"] == "guest:vic"
        assert (await vic.join(incident))["op"] == "joined"
        ack = await vic.command("note_added", incident_id=incident, text="pool is 10 on our side")
        assert ack["op"] == "ack"
        note = [e for e in server.store.events(incident) if str(e.id) == ack["id"]][0]
        assert (note.actor, note.role) == ("guest:vic", "responder")
        before = fingerprint(server, incident)
        for type_, payload in [
            ("decision_recorded", {"what": "x", "why": "y"}),
            ("severity_changed", {"severity": "SEV1", "reason": "r"}),
        ]:
            reply = await vic.command(type_, incident_id=incident, **payload)
            assert reply["op"] == "error" and reply["code"] == "forbidden", (type_, reply)
        assert fingerprint(server, incident) == before
        await vic.close()
        await ana.close()


# --- defect 2: a guest claiming, being offered or accepting the IC role ------------------------
async def test_a_guest_can_never_claim_be_offered_or_hold_the_ic_role(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        token = TOKENS["oncall"]
        incident = await declare_incident(server.url, name="ana", token=token)
        ana = await client(server.url, "ana", "ic", incident, token=token)
        bo = await client(server.url, "bo", "responder", incident, token=token)
        code = await code_for(ana, incident)
        vic = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        await vic.hello("vic")
        assert (await vic.join(incident))["op"] == "joined"

        # Offered: the IC cannot offer the role to a guest (another role, yes).
        reply = await ana.post(HandoffOffered(offered_role="ic", to="guest:vic"))
        assert reply.op == "error" and reply.code == "forbidden" and "guest" in reply.message
        offer = await ana.post(HandoffOffered(offered_role="ic", to="bo"))  # a member: yes
        assert offer.op == "ack"
        # The IC goes offline: the guest still cannot claim, a team member can.
        await ana.close()
        await eventually(lambda: not server.hub.rooms[incident].state.participants["ana"].online)
        before = fingerprint(server, incident)
        reply = await vic.command("ic_claimed", incident_id=incident, previous="ana")
        assert reply["op"] == "error" and reply["code"] == "forbidden"
        assert fingerprint(server, incident) == before
        assert server.hub.rooms[incident].state.ic == "ana"
        assert (await bo.post(IcClaimed(previous="ana"))).op == "ack"
        assert server.hub.rooms[incident].state.ic == "bo"
        # Seat: a guest asking for the IC seat of a room without an IC is refused at hello.
        other = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        assert (await other.hello("wes", "ic"))["code"] == "forbidden"
        await other.close()
        await vic.close()
        await bo.close()


def test_the_core_refuses_a_guest_accepting_the_ic_role_even_from_a_forged_offer():
    """An offer to a guest cannot be made on the hub; the core refuses the accept anyway."""
    from tests.helpers import make_event
    from warroom.core.affordances import may
    from warroom.core.fold import replay
    from warroom.core.rules import check_command

    offer_id = uuid.uuid4()
    events = [
        make_event("incident_declared", 1, title="t", severity="SEV2"),
        make_event(
            "participant_joined",
            2,
            actor="guest:vic",
            role="responder",
            name="guest:vic",
            seat="responder",
        ),  # fmt: skip
        make_event("handoff_offered", 3, offered_role="ic", to="guest:vic"),
    ]
    events[2] = events[2].model_copy(update={"id": offer_id})
    state = replay(events)
    assert state.offers  # the forged offer is in the state
    accept = make_event("handoff_accepted", 4, actor="guest:vic", role="responder",
                        offer=str(offer_id), offered_role="ic", outgoing="ana",
                        incoming="guest:vic")  # fmt: skip
    refusal = check_command(state, accept, Actor(name="guest:vic"), T0)
    assert refusal is not None and refusal.code == "forbidden"
    # ... and a console can read the same rights (the hub's own rules: a member who has joined).
    joined = replay(
        [*events, make_event("participant_joined", 4, actor="ana", name="ana", seat="responder")]
    )
    for type_ in ("ic_claimed", "join_code_created", "join_code_revoked"):
        assert not may(joined, Actor(name="guest:vic"), T0, type_)
        assert may(joined, Actor(name="ana"), T0, type_)


# --- guests and join codes ---------------------------------------------------------------------
async def test_a_guest_can_never_create_or_revoke_join_codes_even_as_a_recorded_ic(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        token = TOKENS["oncall"]
        incident = await declare_incident(server.url, name="ana", token=token)
        ana = await client(server.url, "ana", "ic", incident, token=token)
        code = await code_for(ana, incident)
        vic = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        await vic.hello("vic")
        await vic.join(incident)
        before = fingerprint(server, incident)
        minted = new_join_code(incident)
        reply = await vic.command(
            "join_code_created", incident_id=incident, code_id=minted.code_id, digest=minted.digest
        )
        assert reply["op"] == "error" and reply["code"] == "forbidden"
        reply = await vic.command("join_code_revoked", incident_id=incident, code_id=code[-1:])
        assert reply["op"] == "error"
        reply = await vic.command(
            "join_code_revoked", incident_id=incident, code_id=code.split(":")[1]
        )
        assert reply["op"] == "error" and reply["code"] == "forbidden"
        assert fingerprint(server, incident) == before
        # The IC can.
        assert (await ana.post(JoinCodeRevoked(code_id=code.split(":")[1]))).op == "ack"
        await ana.close()

    # Whatever the record says: a guest recorded as IC (an old log) still may not.
    from tests.helpers import make_event
    from warroom.core.fold import replay
    from warroom.core.rules import check_command

    state = replay([
        make_event("incident_declared", 1, actor="guest:vic", title="t", severity="SEV2"),
        make_event("participant_joined", 2, actor="guest:vic", name="guest:vic", seat="ic"),
    ])  # fmt: skip
    assert state.ic == "guest:vic" and "guest:vic" in state.participants
    made = make_event("join_code_created", 3, actor="guest:vic", code_id="0badc0de",
                      digest="ab" * 32)  # fmt: skip
    assert check_command(state, made, Actor(name="guest:vic"), T0).code == "forbidden"


# --- commands need a join of that incident ---------------------------------------------------
async def test_a_command_is_taken_only_for_the_incident_the_connection_joined(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        token = TOKENS["oncall"]
        a = await declare_incident(server.url, name="ana", token=token)
        b = await declare_incident(server.url, name="ana", token=token, title="Other")
        # bo is a participant of both (on his console) ...
        bo_a = await client(server.url, "bo", "responder", a, token=token)
        bo_b = await client(server.url, "bo", "responder", b, token=token)
        before = fingerprint(server, a), fingerprint(server, b)
        # ... and a second connection of his says hello and sends without joining.
        raw = await Wire.open(server.url, SHARED)
        await raw.hello("bo")
        reply = await raw.command("note_added", incident_id=a, text="never joined")
        assert reply["op"] == "error" and reply["code"] == "not_joined"
        assert (await raw.join(a))["op"] == "joined"
        reply = await raw.command("note_added", incident_id=b, text="joined a, writing to b")
        assert reply["op"] == "error" and reply["code"] == "not_joined"
        assert (fingerprint(server, a)[1], fingerprint(server, b)) == (before[0][1], before[1])
        # The incident it joined: accepted, stamped with the name it joined as.
        ack = await raw.command("note_added", incident_id=a, text="joined a, writing to a")
        assert ack["op"] == "ack" and ack["incident"] == a
        stored = [e for e in server.store.events(a) if str(e.id) == ack["id"]][0]
        assert stored.actor == "bo"
        await raw.close()
        await bo_a.close()
        await bo_b.close()


# --- defect 3: the hub's own timers cannot be pre-empted ---------------------------------------
async def _room_with_every_timer_pending(server: Any, clock: ManualClock) -> tuple[str, dict]:
    """An incident with a lease, an IC offer, an escalation and an update due soon."""
    token = TOKENS["oncall"]
    incident = await declare_incident(server.url, name="ana", token=token, severity="SEV1")
    consoles = {
        "ana": await client(server.url, "ana", "ic", incident, token=token),
        "lee": await client(server.url, "lee", "lead", incident, token=token),
        "rey": await client(server.url, "rey", "responder", incident, token=token),
    }
    assert (await consoles["lee"].post(LockRequested())).op == "ack"
    assert (await consoles["ana"].post(HandoffOffered(offered_role="ic", to="rey"))).op == "ack"
    return incident, consoles


TIMER_TYPES = {"lock_expired", "handoff_expired", "escalation_due", "update_overdue"}


async def test_notes_under_predicted_timer_ids_are_refused_and_every_timer_still_fires(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock, tokens=dict(TOKENS)) as server:
        incident, consoles = await _room_with_every_timer_pending(server, clock)
        # The attacker computes what the hub will record (the rules are public code).
        later = clock() + timedelta(hours=3)
        predicted = {d.type: d.id for d in timers.due(server.hub.rooms[incident].state, later)}
        assert set(predicted) >= TIMER_TYPES, predicted
        rey = await Wire.open(server.url, SHARED)
        await rey.hello("rey")
        await rey.join(incident)
        before = fingerprint(server, incident)
        for type_ in sorted(TIMER_TYPES):
            reply = await rey.command(
                "note_added", id=predicted[type_], incident_id=incident, text="poison"
            )
            assert reply["op"] == "error" and reply["code"] == "invalid", (type_, reply)
        assert fingerprint(server, incident) == before

        clock.advance(timedelta(hours=3))
        await server.hub.tick()
        stored = {e.type: e for e in server.store.events(incident)}
        assert set(stored) >= TIMER_TYPES, "a timer did not fire"
        state = server.hub.rooms[incident].state
        assert state.lock.holder is None and not state.offers
        await rey.close()
        for c in consoles.values():
            await c.close()


async def test_a_timer_poisoned_in_an_old_record_still_fires(tmp_path):
    """A note stored under a timer's id before this fix no longer silences that timer."""
    db = tmp_path / "hub.db"
    clock = ManualClock(T0)
    async with running_hub(db, clock=clock, tokens=dict(TOKENS)) as server:
        incident, consoles = await _room_with_every_timer_pending(server, clock)
        state = server.hub.rooms[incident].state
        poison = next(d for d in timers.due(state, clock() + timedelta(hours=3))
                      if d.type == "lock_expired")  # fmt: skip
        for c in consoles.values():
            await c.close()
        await eventually(lambda: not server.hub.rooms[incident].state.online)
        head = server.hub.rooms[incident].head
    # The old hub stored a client's note under that id (written here as it would have been).
    from tests.helpers import make_event

    store = Store(db)
    store.append(
        [
            make_event(
                "note_added",
                head + 1,
                actor="rey",
                role="responder",
                incident_id=incident,
                text="poison",
                at=T0,
            ).model_copy(update={"id": poison.id})
        ],  # fmt: skip
        [],
    )
    store.close()
    clock.advance(timedelta(hours=3))
    async with running_hub(db, clock=clock, tokens=dict(TOKENS)) as server:
        await server.hub.tick()
        expired = [e for e in server.store.events(incident) if e.type == "lock_expired"]
        assert len(expired) == 1 and expired[0].id != poison.id
        assert server.hub.rooms[incident].state.lock.holder is None


class BrokenTimerEvent(EventBase):
    """A timer event whose fold fails: the hub refuses it (``internal``)."""

    type: Literal["broken_timer_event"] = "broken_timer_event"

    def fold(self, state: IncidentState) -> IncidentState:
        raise RuntimeError("this timer is broken")


async def test_one_refused_timer_does_not_block_the_other_timers(tmp_path, monkeypatch):
    def broken(state: IncidentState, now: Any) -> list[EventBase]:
        return [BrokenTimerEvent(id=uuid.uuid4())] if state.declared else []

    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock, tokens=dict(TOKENS)) as server:
        incident, consoles = await _room_with_every_timer_pending(server, clock)
        monkeypatch.setattr(timers, "TIMERS", [broken, *timers.TIMERS])
        refused = server.hub.refused
        clock.advance(timedelta(hours=3))
        await server.hub.tick()
        assert server.hub.refused > refused  # the broken one was tried and refused ...
        stored = {e.type for e in server.store.events(incident)}
        assert stored >= TIMER_TYPES  # ... and every other timer fired
        assert "broken_timer_event" not in stored
        for c in consoles.values():
            await c.close()


# --- defect 12: the duplicate check never names another incident -----------------------------
async def test_an_event_id_of_another_incident_teaches_nothing(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        token = TOKENS["oncall"]
        a = await declare_incident(server.url, name="ana", token=token)
        b = await declare_incident(server.url, name="ana", token=token, title="Secret")
        ana = await client(server.url, "ana", "ic", a, token=token)
        code = await code_for(ana, a)
        secret_event = list(server.store.events(b))[0]
        vic = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        await vic.hello("vic")
        await vic.join(a)
        before = fingerprint(server, a)
        for incident_id, code in ((a, "id_taken"), (b, "not_joined")):
            reply = await vic.command(
                "note_added", id=secret_event.id, incident_id=incident_id, text="probe"
            )
            assert reply["op"] == "error" and reply["code"] == code, reply
            assert "seq" not in reply and "incident" not in reply and "duplicate" not in reply
        assert b not in reply_text(vic.seen[-2])  # the probe in A never names B
        assert fingerprint(server, a) == before
        # An id stored by someone else in this incident is not acknowledged to the prober either.
        ana_note = await ana.post(NoteAdded(text="ours"))
        reply = await vic.command("note_added", id=ana_note.id, incident_id=a, text="mine?")
        assert reply["op"] == "error" and reply["code"] == "id_taken"
        # One's own retry is still acknowledged as a duplicate (idempotency kept).
        first = await vic.command("note_added", incident_id=a, text="once")
        again = await vic.command("note_added", id=first["id"], incident_id=a, text="once")
        assert first["op"] == again["op"] == "ack" and again["duplicate"]
        assert again["seq"] == first["seq"]
        await vic.close()
        await ana.close()


# --- defect 14: look-alike names and incident ids ----------------------------------------------
async def test_names_that_look_like_someone_else_or_the_hub_are_refused(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        incident = await declare_incident(server.url, name="dana", token=TOKENS["oncall"])
        dana = await client(server.url, "dana", "ic", incident, token=TOKENS["oncall"])
        for bad in ("dana\u200b", "d\u0430na", "warroom", "WarRoom", "\uff57\uff41\uff52\uff52\uff4f\uff4f\uff4d",
                    "dana\u202e", "\u3164", "guest:dana"):  # fmt: skip
            wire = await Wire.open(server.url, SHARED)
            reply = await wire.hello(bad)
            assert reply["op"] == "error" and reply["code"] == "bad_name", (bad, reply)
            await wire.close()
        # Fullwidth letters are the same name after NFKC: it IS dana, not a look-alike.
        wire = await Wire.open(server.url, SHARED)
        assert (await wire.hello("\uff44\uff41\uff4e\uff41"))["name"] == "dana"
        await wire.close()
        # A look-alike of someone already in the incident is refused at join.
        for look_alike in ("DANA", "Dana"):
            wire = await Wire.open(server.url, SHARED)
            assert (await wire.hello(look_alike))["op"] == "welcome"
            reply = await wire.join(incident)
            assert reply["op"] == "error" and reply["code"] == "bad_name", reply
            assert "dana" in reply["message"]
            await wire.close()
        # A guest's name never looks like a member's.
        code = await code_for(dana, incident)
        wire = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        assert (await wire.hello("Dana"))["name"] == "guest:Dana"
        assert (await wire.join(incident))["op"] == "error"
        await wire.close()
        # Someone with a name of their own gets in.
        wire = await Wire.open(server.url, SHARED)
        await wire.hello("erin")
        assert (await wire.join(incident))["op"] == "joined"
        await wire.close()
        assert set(server.hub.rooms[incident].state.participants) == {"dana", "erin"}
        await dana.close()


async def test_incident_ids_are_ascii_letters_digits_and_dashes(tmp_path):
    from warroom.client.lobby import HubRefused

    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        for bad in ("inc-\u0663\u0663\u0663", "inc-\uff21\uff22\uff23", "inc-ab\u200bc"):
            with pytest.raises(HubRefused) as refused:
                await declare_incident(server.url, token=TOKENS["oncall"], incident_id=bad)
            assert refused.value.code == "invalid"
        assert not server.hub.rooms
        ok = await declare_incident(server.url, token=TOKENS["oncall"], incident_id="inc-ABC-333")
        assert ok == "inc-ABC-333"


# --- personal tokens -------------------------------------------------------------------------
def people(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", "people", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def token_of(output: str) -> str:
    found = re.findall(r"wrp_[A-Za-z0-9_-]{40,}", output)
    assert found, output
    return found[0]


def test_people_list_and_revoke_never_create_a_database_at_a_mistyped_path(tmp_path):
    """Only `add` makes the hub's database (before the first `serve`). `list` on a mistyped
    path used to create an empty database there and answer "Nobody has a personal token"."""
    typo = tmp_path / "hbu.db"
    for action in (["list"], ["revoke", "dana"]):
        done = people(typo, *action)
        assert done.returncode == 1, done
        assert f"No hub database at {typo}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert not typo.exists()
    assert people(typo, "add", "dana").returncode == 0 and typo.exists()
    assert "dana" in people(typo, "list").stdout


def test_people_add_list_revoke_from_the_command_line(tmp_path):
    db = tmp_path / "hub.db"
    added = people(db, "add", "dana")
    assert added.returncode == 0, added.stderr
    token = token_of(added.stdout)
    assert people(db, "add", "dana").returncode == 1  # one live token per person
    assert "looks like" in people(db, "add", "DANA").stderr
    assert people(db, "add", "warroom").returncode == 1
    assert people(db, "add", "d\u0430na").returncode == 1
    listed = people(db, "list")
    assert "dana" in listed.stdout and "active" in listed.stdout and token not in listed.stdout
    # Only the digest is stored.
    dump = "\n".join(Store(db).db.conn.iterdump())
    assert token not in dump and hashlib.sha256(token.encode()).hexdigest() in dump
    assert people(db, "revoke", "dana").returncode == 0
    assert "revoked" in people(db, "list").stdout
    assert people(db, "revoke", "dana").returncode == 1
    # Re-added after a revoke: a new token.
    assert token_of(people(db, "add", "dana").stdout) != token


async def test_a_personal_token_speaks_only_as_its_person_and_only_it_can(tmp_path):
    db = tmp_path / "hub.db"
    dana_token = token_of(people(db, "add", "dana").stdout)
    erin_token = token_of(people(db, "add", "erin").stdout)
    as_dana = {"Authorization": f"Bearer {dana_token}"}
    as_erin = {"Authorization": f"Bearer {erin_token}"}
    async with running_hub(db, tokens=dict(TOKENS)) as server:
        incident = await declare_incident(server.url, name="dana", token=dana_token)
        cases = [
            (as_dana, "dana", "welcome"),
            (as_dana, "\uff44\uff41\uff4e\uff41", "welcome"),  # fullwidth: the same name
            (as_dana, "erin", "wrong_name"),  # another person
            (as_dana, "mallory", "wrong_name"),  # anyone else
            (as_erin, "dana", "wrong_name"),
            (SHARED, "dana", "wrong_name"),  # the shared token cannot use a person's name
            (SHARED, "Dana", "bad_name"),  # ... nor one that looks like it
            (SHARED, "sam", "welcome"),  # the shared token still works for unregistered names
        ]
        for headers, name, expected in cases:
            wire = await Wire.open(server.url, headers)
            reply = await wire.hello(name)
            assert reply.get("code", reply["op"]) == expected, (name, reply)
            await wire.close()
        # No credential at all: the hub is closed once people are registered.
        with pytest.raises(InvalidStatus) as refused:
            await Wire.open(server.url)
        assert refused.value.response.status_code == 401
        # A guest's code cannot pass for dana either.
        dana = await client(server.url, "dana", "ic", incident, token=dana_token)
        code = await code_for(dana, incident)
        wire = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        assert (await wire.hello("dana"))["code"] == "bad_name"
        await wire.close()
        assert (await dana.post(NoteAdded(text="it is me"))).op == "ack"
        await dana.close()


async def test_a_revoked_personal_token_is_refused_at_once_and_its_connections_cut(tmp_path):
    db = tmp_path / "hub.db"
    erin_token = token_of(people(db, "add", "erin").stdout)
    async with running_hub(db, tokens=dict(TOKENS), people_interval=0.2) as server:
        incident = await declare_incident(server.url, name="ana", token=TOKENS["oncall"])
        erin = await Wire.open(server.url, {"Authorization": f"Bearer {erin_token}"})
        assert (await erin.hello("erin"))["op"] == "welcome"
        assert (await erin.join(incident))["op"] == "joined"
        revoked = await asyncio.to_thread(people, db, "revoke", "erin")
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(InvalidStatus) as refused:
            await Wire.open(server.url, {"Authorization": f"Bearer {erin_token}"})
        assert refused.value.response.status_code == 401
        with pytest.raises(ConnectionClosed):
            await erin.until(lambda m: False, timeout=5)
        assert erin.ws.close_code == 1008
        await eventually(lambda: not server.hub.rooms[incident].state.participants["erin"].online)


async def test_revoking_the_last_personal_token_does_not_open_the_hub(tmp_path):
    """Seen in tmux: on a loopback hub with personal tokens only, revoking the last one made the
    hub open again, so the revoked console reconnected at once, still as dana, and anyone on
    the host could join under any name."""
    db = tmp_path / "hub.db"
    dana_token = token_of(people(db, "add", "dana").stdout)
    as_dana = {"Authorization": f"Bearer {dana_token}"}
    async with running_hub(db, people_interval=0.2) as server:
        incident = await declare_incident(server.url, name="dana", token=dana_token)
        dana = await Wire.open(server.url, as_dana)
        assert (await dana.hello("dana"))["op"] == "welcome"
        assert (await dana.join(incident))["op"] == "joined"
        revoked = await asyncio.to_thread(people, db, "revoke", "dana")
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(ConnectionClosed):
            await dana.until(lambda m: False, timeout=5)
        assert dana.ws.close_code == 1008
        for headers in (as_dana, {}, {"Authorization": "Bearer wrp_made-up"}):
            with pytest.raises(InvalidStatus) as refused:
                await Wire.open(server.url, headers)
            assert refused.value.response.status_code == 401, headers
        # A new token for dana opens it to her again, and to nobody else.
        again = token_of(people(db, "add", "dana").stdout)
        wire = await Wire.open(server.url, {"Authorization": f"Bearer {again}"})
        assert (await wire.hello("dana"))["op"] == "welcome"
        await wire.close()


async def test_a_revoked_persons_name_stays_theirs(tmp_path):
    """Revoking erin's token ends her access, not her name: the record says erin did what she
    did, so nobody with the shared token may speak as erin, or as a name like it, afterwards."""
    db = tmp_path / "hub.db"
    token_of(people(db, "add", "erin").stdout)
    async with running_hub(db, tokens=dict(TOKENS), people_interval=0.2) as server:
        assert (await asyncio.to_thread(people, db, "revoke", "erin")).returncode == 0
        for name, expected in (("erin", "wrong_name"), ("Erin", "bad_name"), ("sam", "welcome")):
            wire = await Wire.open(server.url, SHARED)
            reply = await wire.hello(name)
            assert reply.get("code", reply["op"]) == expected, (name, reply)
            await wire.close()
    assert "looks like" in people(db, "add", "ERIN").stderr, "nor registered as a lookalike"
    assert people(db, "add", "erin").returncode == 0, "erin herself gets a new token"


async def test_a_hub_with_only_personal_tokens_is_closed_to_anonymous_consoles(tmp_path):
    db = tmp_path / "hub.db"
    token = token_of(people(db, "add", "dana").stdout)
    async with running_hub(db) as server:
        with pytest.raises(InvalidStatus) as refused:
            await Wire.open(server.url)
        assert refused.value.response.status_code == 401
        wire = await Wire.open(server.url, {"Authorization": f"Bearer {token}"})
        assert (await wire.hello("dana"))["op"] == "welcome"
        await wire.close()


# --- defect 15: one seat, one holder -----------------------------------------------------------
async def test_two_consoles_racing_for_one_vacant_seat_never_both_get_it(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        for round_ in range(50):
            incident = await declare_incident(
                server.url, name="ana", token=TOKENS["oncall"], title=f"race {round_}"
            )
            wires = [await Wire.open(server.url, SHARED) for _ in range(2)]
            for i, wire in enumerate(wires):
                await wire.hello(f"p{i}", "scribe")
            replies = await asyncio.gather(*(w.join(incident) for w in wires))
            assert all(r["op"] == "joined" for r in replies), f"round {round_}: {replies}"
            state = server.hub.rooms[incident].state
            assigned = [e for e in server.store.events(incident)
                        if e.type == "role_assigned" and e.assigned_role == "scribe"]  # fmt: skip
            assert len(assigned) == 1, f"round {round_}: the seat was given twice"
            holder = state.holder("scribe")
            loser = wires[1 - int(holder[1])]
            told = [m for m in loser.seen if m.get("code") == "seat_taken"]
            assert told and holder in told[0]["message"], f"round {round_}: loser not told"
            assert state.role_of(f"p{1 - int(holder[1])}") == "responder"
            for wire in wires:
                await wire.close()


# --- defect 10: a refused repeat hello leaves nobody online -----------------------------------
async def test_a_refused_repeat_hello_does_not_leave_the_person_online(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        incident = await declare_incident(server.url, name="ana", token=TOKENS["oncall"])
        ana = await client(server.url, "ana", "ic", incident, token=TOKENS["oncall"])
        code = await code_for(ana, incident, seat_limit="observer")
        vic = await Wire.open(server.url, {JOIN_CODE_HEADER: code})
        assert (await vic.hello("vic", "observer"))["op"] == "welcome"
        assert (await vic.join(incident))["op"] == "joined"
        # Another seat (beyond the code, too) on a welcomed connection: refused, nothing changes.
        refused = await vic.hello("vic", "responder")
        assert refused["op"] == "error" and refused["code"] == "bad_message"
        renamed = await vic.hello("someone-else", "observer")
        assert renamed["op"] == "error"
        assert server.hub.rooms[incident].state.participants["guest:vic"].online
        await vic.close()
        await eventually(
            lambda: not server.hub.rooms[incident].state.participants["guest:vic"].online
        )
        await ana.close()


async def test_guests_show_as_guests_in_the_export_and_the_postmortem(tmp_path):
    import sqlite3

    from warroom.export.exporter import export_incidents
    from warroom.export.postmortem import draft
    from warroom.export.sources import DatabaseSource

    db = tmp_path / "hub.db"
    async with running_hub(db, tokens=dict(TOKENS)) as server:
        incident = await declare_incident(server.url, name="ana", token=TOKENS["oncall"])
        ana = await client(server.url, "ana", "ic", incident, token=TOKENS["oncall"])
        code = await code_for(ana, incident)
        vic = guest_client(server.url, "vic", "responder", incident, code)
        await vic.wait_synced()
        assert (await vic.post(BoardItemAdded(kind="fact", text="pool is 10"))).op == "ack"
        assert (await vic.post(NoteAdded(text="vendor side looks fine"))).op == "ack"
        await vic.close()
        await ana.close()
        text = draft(None, list(server.store.events(incident)))
    assert "guest:vic" in text
    out = tmp_path / "export.db"
    export_incidents(DatabaseSource(db), out, [incident])
    with sqlite3.connect(out) as conn:
        actors = {row[0] for row in conn.execute("SELECT actor FROM timeline")}
    assert "guest:vic" in actors and "vic" not in actors


def test_registered_people_count_as_tokens_for_listening_beyond_loopback(tmp_path):
    from warroom.hub.app import HubConfig, HubConfigError, HubServer

    db = tmp_path / "hub.db"
    with pytest.raises(HubConfigError, match="without a token and TLS"):
        HubServer(HubConfig(host="0.0.0.0", port=0, db=db))
    assert not db.exists()  # refused before anything was written
    assert people(db, "add", "dana").returncode == 0
    with pytest.raises(HubConfigError) as refused:
        HubServer(HubConfig(host="0.0.0.0", port=0, db=db))
    assert str(refused.value).startswith("Refusing to listen on 0.0.0.0 without TLS:")


async def test_a_look_alike_who_got_in_first_never_keeps_the_registered_person_out(tmp_path):
    db = tmp_path / "hub.db"
    async with running_hub(db, tokens=dict(TOKENS)) as server:
        incident = await declare_incident(server.url, name="ana", token=TOKENS["oncall"])
        squatter = await Wire.open(server.url, SHARED)
        await squatter.hello("DANA")
        assert (await squatter.join(incident))["op"] == "joined"
        token = token_of((await asyncio.to_thread(people, db, "add", "dana")).stdout)
        dana = await Wire.open(server.url, {"Authorization": f"Bearer {token}"})
        assert (await dana.hello("dana"))["op"] == "welcome"
        assert (await dana.join(incident))["op"] == "joined"
        # From the registration on, nobody else gets in under a look-alike.
        late = await Wire.open(server.url, SHARED)
        assert (await late.hello("Dana"))["code"] == "bad_name"
        for wire in (squatter, dana, late):
            await wire.close()
