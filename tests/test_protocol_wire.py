"""Issue 18, item 5: what an outside client found missing or wrong on the wire, tried as it did.

Every test runs a real hub and speaks raw websocket frames to it, reading only what the frames
say (never the hub's memory), as a client written from docs/PROTOCOL.md alone would:

- the production lock (holder, fencing token, lease expiry, queue) is on the ``event`` frame of
  every event that changed it: a grant, a hand-on from the queue, a renewal, a release, an
  expiry, a force release, an IC hand-over; other frames carry no ``lock``;
- ``participant_joined.seat`` is the seat actually taken (a held seat someone else holds makes
  the joiner a responder, and the frame says so); ``welcome.role`` is the seat asked for;
- every ``error`` echoes the id its frame carried, as sent, also before ``hello``;
- a missing reason is ``reason_required`` for every event that needs one, and the other
  documented codes (``resolution_required``, ``unanswered``, ``unchanged``) are what the hub sends;
- a handoff offer's briefing and deadline are on its event; ``detected_at`` is stored as sent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from warroom.hub.hub import HubLimits
from websockets.asyncio.client import connect

from tests.helpers import T0, client, declare_incident, declared, running_hub
from warroom.client.sync import IncidentClient
from warroom.core.clock import ManualClock
from warroom.core.incident import NoteAdded

#: No rate limit: a ``slow_down`` notice would be one more frame to read past.
UNLIMITED = HubLimits(rate=0, credential_rate=0)
#: The protocol this client speaks (see docs/PROTOCOL.md, "Versions").
PROTOCOL = 2


class Wire:
    """One raw websocket connection, read frame by frame; keeps every frame it read."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str) -> Wire:
        return cls(await connect(url))

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def until(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            self.seen.append(message)
            if predicate(message):
                return message

    async def hello(self, name: str, role: str = "responder") -> dict[str, Any]:
        await self.send({"op": "hello", "name": name, "role": role, "protocol": PROTOCOL})
        return await self.until(lambda m: m["op"] in ("welcome", "error"))

    async def join(self, incident: str, since: int = 0) -> dict[str, Any]:
        await self.send({"op": "join", "incident": incident, "since": since})
        joined = await self.until(lambda m: m["op"] == "joined")
        await self.until(lambda m: m["op"] == "synced")
        return joined

    async def command(self, type_: str, cid: str | None = None, **payload: Any) -> dict[str, Any]:
        """Send a command; its ``ack`` or ``error``."""
        cid = cid or str(uuid.uuid4())
        await self.send({"op": "command", "command": {"type": type_, "id": cid, **payload}})
        return await self.until(lambda m: m["op"] in ("ack", "error") and m.get("id") == cid)

    async def ok(self, type_: str, **payload: Any) -> dict[str, Any]:
        """Send a command that must be stored; the ``event`` frame that stored it."""
        cid = str(uuid.uuid4())
        reply = await self.command(type_, cid, **payload)
        assert reply["op"] == "ack", reply
        return await self.event_with_id(cid)

    async def event_with_id(self, event_id: str) -> dict[str, Any]:
        for frame in self.seen:
            if frame["op"] == "event" and frame["event"]["id"] == event_id:
                return frame
        return await self.until(lambda m: m["op"] == "event" and m["event"]["id"] == event_id)

    async def event_of(self, type_: str) -> dict[str, Any]:
        """The next ``event`` frame of ``type_`` (one already read counts)."""
        for i, frame in enumerate(self.seen):
            if frame["op"] == "event" and frame["event"]["type"] == type_:
                del self.seen[i]
                return frame
        frame = await self.until(lambda m: m["op"] == "event" and m["event"]["type"] == type_)
        self.seen.remove(frame)
        return frame

    async def answer(self, frame: dict[str, Any] | str) -> dict[str, Any]:
        """Send any frame; the first ``error``, ``ack`` or ``welcome`` that follows."""
        await self.send(frame)
        return await self.until(lambda m: m["op"] in ("error", "ack", "welcome"))


def when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


async def room(url: str, *people: tuple[str, str]) -> tuple[str, dict[str, Wire]]:
    """A declared incident (ana is its IC) with ``people`` joined over raw connections."""
    incident = await declare_incident(url, name="ana")
    wires: dict[str, Wire] = {}
    for name, role in (("ana", "ic"), *people):
        wire = await Wire.open(url)
        assert (await wire.hello(name, role))["op"] == "welcome"
        await wire.join(incident)
        wires[name] = wire
    return incident, wires


# --- the lock on the wire ------------------------------------------------------------------------
async def test_every_change_of_the_lock_is_on_its_event_frame_with_token_and_expiry(tmp_path):
    clock = ManualClock(T0)
    ttl = timedelta(minutes=10)
    async with running_hub(tmp_path / "hub.db", clock=clock, limits=UNLIMITED) as server:
        incident, w = await room(server.url, ("bo", "responder"), ("cy", "responder"))
        dee = await Wire.open(server.url)
        await dee.hello("dee")
        await dee.join(incident)
        ana = w["ana"]  # reads every frame, as a dashboard would

        async def lock_after(frame: dict[str, Any]) -> dict[str, Any]:
            seen = await ana.event_with_id(frame["event"]["id"])
            assert "lock" in seen, f"{seen['event']['type']} changed the lock but has no 'lock'"
            return seen["lock"]

        # A grant on request: token 0 -> 1, expiry = the event's time + the lease.
        granted = await w["bo"].ok("lock_requested")
        lock = await lock_after(granted)
        assert lock["holder"] == "bo" and lock["token"] == 1 and lock["queue"] == []
        assert when(lock["expires_at"]) == when(granted["event"]["at"]) + ttl
        # Requests that queue change the queue, in the order the hub received them.
        assert (await lock_after(await w["cy"].ok("lock_requested")))["queue"] == ["cy"]
        assert (await lock_after(await dee.ok("lock_requested")))["queue"] == ["cy", "dee"]
        # Hand-on from the queue on release: the next token, a fresh lease.
        clock.advance(60)
        released = await w["bo"].ok("lock_released", token=1)
        lock = await lock_after(released)
        assert (lock["holder"], lock["token"], lock["queue"]) == ("cy", 2, ["dee"])
        assert when(lock["expires_at"]) == when(released["event"]["at"]) + ttl
        # A renewal moves the expiry; the token stays.
        clock.advance(120)
        renewed = await w["cy"].ok("lock_renewed", token=2)
        lock = await lock_after(renewed)
        assert lock["token"] == 2 and when(lock["expires_at"]) == clock.now + ttl
        # Expiry (a hub timer) hands the lock on too: dee gets token 3.
        clock.advance(ttl + timedelta(seconds=1))
        assert await server.hub.tick() >= 1
        expired = await ana.event_of("lock_expired")
        assert expired["event"]["token"] == 2 and expired["event"]["holder"] == "cy"
        lock = expired["lock"]
        assert (lock["holder"], lock["token"], lock["queue"]) == ("dee", 3, [])
        assert when(lock["expires_at"]) == clock.now + ttl
        # The IC hands it over: bo gets token 4 without asking.
        handed = await ana.ok("lock_handed_over", token=3, to="bo", reason="bo has the runbook")
        lock = await lock_after(handed)
        assert (lock["holder"], lock["token"]) == ("bo", 4)
        assert when(lock["expires_at"]) == clock.now + ttl
        # A force release frees it: no holder, no expiry, the token stays at 4.
        forced = await ana.ok("lock_force_released", token=4, reason="bo's laptop died")
        assert await lock_after(forced) == {
            "holder": None,
            "token": 4,
            "expires_at": None,
            "queue": [],
        }
        # The holder learns its token from the frame and acts under it.
        assert (await lock_after(await w["cy"].ok("lock_requested")))["token"] == 5
        started = await w["cy"].ok(
            "action_started",
            token=5,
            kind="rollback",
            target="checkout-api",
            expected="5xx under 1%",
            metric="checkout 5xx",
            value_before="12%",
        )
        # Events that leave the lock as it was carry no "lock".
        assert "lock" not in started
        assert "lock" not in await w["bo"].ok("note_added", text="rolled back")
        live = [f for f in ana.seen if f["op"] == "event"]
        for wire in (*w.values(), dee):
            await wire.close()

    # A hub started again on the same database never sends a wrong lock: a frame it folded at
    # start carries the same lock as when live; one rebuilt from a stored row alone (an event
    # before the checkpoint it started from) carries none, and the documented rule applies
    # (a lock event without "lock": read the lock from "synced", which always carries it).
    async with running_hub(tmp_path / "hub.db", clock=clock, limits=UNLIMITED) as server:
        reader = await Wire.open(server.url)
        await reader.hello("eve", "observer")
        await reader.join(incident)
        replayed = {f["event"]["id"]: f.get("lock") for f in reader.seen if f["op"] == "event"}
        assert replayed, "nothing replayed after the restart"
        for frame in live:
            again = replayed.get(frame["event"]["id"])
            assert again is None or again == frame.get("lock"), frame["event"]
        synced = next(f for f in reader.seen if f["op"] == "synced")
        assert synced["lock"]["holder"] == "cy" and synced["lock"]["token"] == 5
        # A resume across the restart from before the last grant learns the token at "synced".
        late = await Wire.open(server.url)
        await late.hello("dee", "observer")
        await late.join(incident, since=max(1, synced["seq"] - 8))
        resumed = next(f for f in late.seen if f["op"] == "synced")
        assert resumed["lock"] == synced["lock"]
        await late.close()
        # The first change after the restart carries the lock, folded from what was stored.
        bo = await Wire.open(server.url)
        await bo.hello("bo")
        await bo.join(incident)
        queued = await bo.ok("lock_requested")
        assert queued["lock"]["holder"] == "cy" and queued["lock"]["token"] == 5
        assert queued["lock"]["queue"] == ["bo"]
        await bo.close()
        await reader.close()


# --- seats ---------------------------------------------------------------------------------------
async def test_participant_joined_gives_the_seat_actually_taken(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED) as server:
        incident, w = await room(server.url, ("cy", "scribe"))
        ana = w["ana"]
        took = await ana.event_of("participant_joined")  # ana's own
        took = await ana.event_of("participant_joined")
        assert took["event"]["name"] == "cy" and took["event"]["seat"] == "scribe"
        assigned = await ana.event_of("role_assigned")
        assert assigned["event"]["assigned_role"] == "scribe"
        assert assigned["event"]["holder"] == "cy"

        for name, asked in (("bo", "scribe"), ("dee", "ic")):
            wire = await Wire.open(server.url)
            welcome = await wire.hello(name, asked)
            # welcome.role is the seat asked for: nothing is held before a join.
            assert welcome["op"] == "welcome" and welcome["role"] == asked
            await wire.send({"op": "join", "incident": incident})
            told = await wire.until(lambda m: m["op"] in ("error", "joined"))
            assert told["op"] == "error" and told["code"] == "seat_taken" and told["id"] is None
            assert ("cy" if asked == "scribe" else "ana") in told["message"]
            await wire.until(lambda m: m["op"] == "synced")
            joined = await ana.event_of("participant_joined")
            assert joined["event"]["name"] == name
            assert joined["event"]["seat"] == "responder", joined
            note = await wire.ok("note_added", text=f"{name} here")
            assert note["event"]["role"] == "responder"
            w[name] = wire
        await ana.ok("note_added", text="everyone is in")  # every frame before it is read now
        seats = [
            f for f in ana.seen if f["op"] == "event" and f["event"]["type"] == "role_assigned"
        ]
        assert seats == [], "a seat someone else holds was assigned again"
        for wire in w.values():
            await wire.close()


# --- error ids -----------------------------------------------------------------------------------
async def test_every_error_echoes_the_id_its_frame_carried_as_sent(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED) as server:
        incident = await declare_incident(server.url, name="ana")
        wire = await Wire.open(server.url)
        cid = str(uuid.uuid4())

        def note(id_: Any) -> dict[str, Any]:
            return {"op": "command", "command": {"type": "note_added", "id": id_, "text": "x"}}

        # Before hello: the command is refused with its id, whatever the id looks like.
        for sent in (cid, "not-a-uuid", "C0FFEE"):
            reply = await wire.answer(note(sent))
            assert (reply["code"], reply["id"]) == ("hello_first", sent), reply
        # A frame the hub cannot read as a message still names its command's id.
        reply = await wire.answer({**note(cid), "extra": 1})
        assert (reply["code"], reply["id"]) == ("bad_message", cid), reply
        reply = await wire.answer({**note(cid), "op": "commnad"})
        assert (reply["code"], reply["id"]) == ("unknown_op", cid), reply
        reply = await wire.answer('{"op": "command", "command": {"id": "abc"')
        assert (reply["code"], reply["id"]) == ("bad_json", None), reply
        # A frame without a command echoes an id beside its op (no message has one: refused).
        reply = await wire.answer({"op": "join", "incident": incident, "id": "j-1"})
        assert (reply["code"], reply["id"]) == ("bad_message", "j-1"), reply
        # A join has no id: its errors carry none.
        reply = await wire.answer({"op": "join", "incident": incident})
        assert (reply["code"], reply["id"]) == ("hello_first", None), reply

        assert (await wire.hello("bo"))["op"] == "welcome"
        reply = await wire.answer(note(cid))
        assert (reply["code"], reply["id"]) == ("not_joined", cid), reply
        await wire.join(incident)
        # An id that is not a UUID is refused, and echoed exactly as sent.
        for sent in ("note-1", "  spaced  ", "ünïcode"):
            reply = await wire.answer(note(sent))
            assert (reply["code"], reply["id"]) == ("invalid", sent), reply
        # An id that is not a string is no id: it cannot be echoed.
        for sent in (42, None, ["x"], {"a": 1}):
            reply = await wire.answer(note(sent))
            assert (reply["code"], reply["id"]) == ("invalid", None), reply
        # A command without an id that cannot be read: no id to echo.
        reply = await wire.answer({"op": "command", "command": {"type": "note_added"}})
        assert (reply["code"], reply["id"]) == ("invalid", None), reply
        # Refused by the rules (the writer): the same id again.
        reply = await wire.answer(
            {
                "op": "command",
                "command": {"type": "severity_changed", "id": cid, "severity": "SEV1"},
            }
        )
        assert (reply["code"], reply["id"]) == ("forbidden", cid), reply
        await wire.close()


# --- reasons and the other documented codes -------------------------------------------------------
async def test_a_missing_reason_is_reason_required_for_every_event_that_needs_one(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock, limits=UNLIMITED) as server:
        incident, w = await room(server.url, ("bo", "responder"))
        ana, bo = w["ana"], w["bo"]
        fact = await bo.ok("board_item_added", kind="fact", text="5xx at 23% on /pay")
        note = await ana.ok("note_added", text="EU only")
        await ana.ok("phase_changed", phase="triage")
        clock.advance(timedelta(hours=12))  # past the expected time to mitigate: a proposal
        await server.hub.tick()
        await ana.event_of("escalation_due")
        await bo.ok("lock_requested")
        needs_reason = [
            ("escalation_dismissed", {}),  # first: a severity change ends the proposal
            ("severity_changed", {"severity": "SEV1"}),
            ("phase_changed", {"phase": "detected"}),
            ("lock_force_released", {"token": 1}),
            ("fact_retracted", {"item": fact["event"]["seq"]}),
            ("decision_recorded", {"what": "Roll back checkout"}),
            ("entry_amended", {"entry": note["event"]["seq"], "text": "EU card payers only"}),
            ("entry_retimed", {"entry": note["event"]["seq"], "happened_at": T0.isoformat()}),
        ]
        for type_, payload in needs_reason:
            field = "why" if type_ == "decision_recorded" else "reason"
            for reason in (None, "", "   "):
                sent = payload if reason is None else {**payload, field: reason}
                reply = await ana.command(type_, **sent)
                assert reply["op"] == "error", (type_, reason, reply)
                assert reply["code"] == "reason_required", (type_, reason, reply)
            # With a reason the same command is taken: the reason was all that was missing.
            assert (await ana.command(type_, **payload, **{field: "because"}))["op"] == "ack"

        reply = await ana.command("phase_changed", phase="resolved")
        assert reply["code"] == "resolution_required", reply
        reply = await ana.command("triage_confirmed", question="who")
        assert reply["code"] == "unanswered", reply
        await bo.ok("triage_answered", question="who", answer="EU card payers")
        reply = await bo.command("triage_answered", question="who", answer="EU card payers")
        assert reply["code"] == "unchanged", reply
        await ana.ok("triage_confirmed", question="who")
        reply = await ana.command("triage_confirmed", question="who")
        assert reply["code"] == "unchanged", reply
        for wire in w.values():
            await wire.close()


# --- what the events carry -------------------------------------------------------------------------
async def test_a_handoff_offer_carries_its_briefing_and_deadline(tmp_path):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED) as server:
        incident, w = await room(server.url, ("bo", "responder"))
        ana = w["ana"]
        declared = await ana.event_of("incident_declared")
        assert declared["event"]["settings"]["handoff_ttl"] == "PT5M"
        await ana.ok("board_item_added", kind="fact", text="only EU card payers")
        # Offered without a briefing, as a script would: the hub stores the one its state gives.
        offered = await ana.ok(
            "handoff_offered", offered_role="ic", to="bo", notes="watch the pool"
        )
        event = offered["event"]
        assert when(event["expires_at"]) == when(event["at"]) + timedelta(minutes=5)
        assert event["briefing"] is not None
        assert "only EU card payers" in json.dumps(event["briefing"])
        # A deadline sent by a client is not trusted: the hub's replaces it.
        await ana.ok("handoff_withdrawn", offer=event["id"], offered_role="ic", outgoing="ana",
                     incoming="bo")  # fmt: skip
        forged = await ana.ok(
            "handoff_offered", offered_role="ic", to="bo", expires_at="2099-01-01T00:00:00Z"
        )
        assert when(forged["event"]["expires_at"]) == when(forged["event"]["at"]) + timedelta(
            minutes=5
        )
        accepted = await w["bo"].ok(
            "handoff_accepted",
            offer=forged["event"]["id"],
            offered_role="ic",
            outgoing="ana",
            incoming="bo",
        )
        assert accepted["event"]["actor"] == "bo"
        for wire in w.values():
            await wire.close()


async def test_detected_at_is_stored_as_sent_and_the_state_fills_it_in(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock, limits=UNLIMITED) as server:
        wire = await Wire.open(server.url)
        await wire.hello("ana", "ic")
        sent = "2026-03-14T09:30:00+01:00"  # 08:30 UTC, half an hour before the declaration
        for detected in (sent, None):
            command: dict[str, Any] = {"title": "Checkout errors", "severity": "SEV2"}
            if detected is not None:
                command["detected_at"] = detected
            reply = await wire.command("incident_declared", **command)
            incident = reply["incident"]
            await wire.join(incident)
            event = (await wire.event_of("incident_declared"))["event"]
            # The event keeps what was sent: its offset, or null when left out.
            assert event["detected_at"] == detected
            async with httpx.AsyncClient() as http:
                url = server.url.replace("ws://", "http://") + "/incidents"
                listed = {r["id"]: r for r in (await http.get(url)).json()}[incident]
            expected = when(sent) if detected else when(event["at"])
            assert when(listed["detected_at"]) == expected
        await wire.close()


async def test_of_two_asking_for_one_vacant_seat_at_once_the_loser_is_recorded_as_a_responder(
    tmp_path,
):
    async with running_hub(tmp_path / "hub.db", limits=UNLIMITED) as server:
        for round_ in range(10):
            incident = await declare_incident(server.url, name="ana", title=f"race {round_}")
            wires = [await Wire.open(server.url) for _ in range(2)]
            for i, wire in enumerate(wires):
                await wire.hello(f"p{i}", "scribe")
            await asyncio.gather(*(w.join(incident) for w in wires))
            await wires[0].ok("note_added", text="both are in")  # every arrival is read now
            frames = [f["event"] for f in wires[0].seen if f["op"] == "event"]
            seats = {e["name"]: e["seat"] for e in frames if e["type"] == "participant_joined"}
            holders = [e["holder"] for e in frames if e["type"] == "role_assigned"]
            assert len(holders) == 1, f"round {round_}: {holders}"
            loser = "p1" if holders[0] == "p0" else "p0"
            assert seats == {holders[0]: "scribe", loser: "responder"}, f"round {round_}"
            for wire in wires:
                await wire.close()


# --- the client's side of the fold rule -----------------------------------------------------------
async def test_our_client_skips_an_event_type_it_does_not_know_and_folds_what_follows(tmp_path):
    """PROTOCOL.md tells clients to skip event types they do not know and still advance the
    seq; our own client must do as the document says, not take the next event for a gap."""
    async with declared(tmp_path) as (hub, incident, _clock):
        ana = await client(hub.url, "ana", "ic", incident)
        await ana.post(NoteAdded(text="first"))
        await ana.post(NoteAdded(text="second"))
        await ana.post(NoteAdded(text="third"))
        frames = [e.model_dump(mode="json") for e in ana.log]
        await ana.close()
    newer = dict(frames[-2], type="pager_escalated", pager="primary")  # a later hub's type
    frames[-2] = newer
    reader = IncidentClient("ws://127.0.0.1:9", "rita", "responder", incident)
    for frame in frames:
        reader._on_event(frame)
    assert reader.state.seq == frames[-1]["seq"]
    assert reader.state.note_count == 2, "the note after the unknown event is folded"
    assert [e.seq for e in reader.log][-1] == frames[-1]["seq"]
