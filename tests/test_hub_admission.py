"""The hub writes each arrival the core decides as one batch, decided at write time."""

from __future__ import annotations

import asyncio

from tests.helpers import client, declare_incident, running_hub
from tests.test_security_identity import SHARED, TOKENS, Wire, code_for
from warroom.core.access import JOIN_CODE_HEADER


async def test_concurrent_arrivals_are_each_stored_whole_never_interleaved(tmp_path):
    """Twelve people arrive at once: each one's admission, presence and seat are stored next
    to each other (one batch each), and the one vacant seat goes to exactly one of them."""
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as server:
        incident = await declare_incident(server.url, name="ana", token=TOKENS["oncall"])
        ana = await client(server.url, "ana", "ic", incident, token=TOKENS["oncall"])
        code = await code_for(ana, incident)
        wires = [await Wire.open(server.url, {JOIN_CODE_HEADER: code}) for _ in range(6)]
        wires += [await Wire.open(server.url, SHARED) for _ in range(6)]
        for i, wire in enumerate(wires):
            said = await wire.hello(f"v{i}" if i < 6 else f"m{i}", "comms")
            assert said["op"] == "welcome", said
        replies = await asyncio.gather(*(w.join(incident) for w in wires))
        assert all(r["op"] == "joined" for r in replies), replies

        events = [e for e in server.store.events(incident) if e.actor != "ana"]
        by_actor: dict[str, list[int]] = {}
        for event in events:
            by_actor.setdefault(event.actor, []).append(event.seq)
        assert len(by_actor) == 12
        for actor, seqs in by_actor.items():
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (actor, seqs)
        guests = [e for e in events if e.type == "guest_admitted"]
        assert len(guests) == 6
        seats = [e for e in events if e.type == "role_assigned"]
        assert len(seats) == 1
        holder = server.hub.rooms[incident].state.holder("comms")
        assert holder == seats[0].holder
        told = [w for w in wires if any(m.get("code") == "seat_taken" for m in w.seen)]
        assert len(told) == 11
        for wire in wires:
            await wire.close()
        await ana.close()
