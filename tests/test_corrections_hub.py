"""Amend and retime through a real hub (issue 23, items 1 and 3): the rights matrix, the broadcast
that puts every console's copy right at once, and ``noted_at`` checked against the hub's clock.

Uses the rights matrix of :mod:`tests.test_security_rights`: everyone without the right is refused,
counted, and leaves the incident exactly as it was; then someone with it is accepted.
"""

from __future__ import annotations

import json
from datetime import timedelta

import websockets

from tests.helpers import T0, eventually
from tests.test_security_rights import needs, room  # noqa: F401  (the fixture)
from warroom.core.board import BoardItemAdded, EvidenceAdded
from warroom.core.corrections import NOTED_SKEW, EntryAmended, EntryRetimed
from warroom.core.decisions import DecisionRecorded
from warroom.core.incident import NoteAdded


def amend(seq: int, text: str = "db failover took 13 minutes") -> EntryAmended:
    return EntryAmended(entry=seq, text=text, reason="misread the graph")


def retime(seq: int) -> EntryRetimed:
    return EntryRetimed(entry=seq, happened_at=T0 - timedelta(minutes=8), reason="deploy log")


async def test_only_the_author_the_scribe_and_the_ic_amend(room):  # noqa: F811
    needs("entry_amended")
    seq = await room.allowed("rey", NoteAdded(text="db failover took 3 minutes", kind="finding"))
    for name in ("cam", "lee", "obi"):
        await room.refused(name, amend(seq), {"forbidden"})
    for number, name in enumerate(("rey", "sam", "ana")):
        await room.allowed(name, amend(seq, f"db failover took 13 minutes ({number})"))
    versions = room.state.corrections[seq]
    assert [v.by for v in versions] == ["rey", "sam", "ana"]
    # every console folded the same versions
    head = room.hub.rooms[room.incident].head
    await eventually(lambda: all(c.last_seq == head for c in room.consoles.values()))
    for console in room.consoles.values():
        assert console.state.corrections == room.state.corrections


async def test_cards_and_evidence_are_amended_decisions_and_hub_events_never(room):  # noqa: F811
    needs("entry_amended")
    card = await room.allowed("lee", BoardItemAdded(kind="guess", text="pool too smal"))
    evidence = await room.allowed(
        "lee", EvidenceAdded(item=card, evidence={"kind": "query", "text": "selct 1"})
    )
    decision = await room.allowed("ana", DecisionRecorded(what="Roll back", why="v2 broke it"))
    joined = next(
        e.seq for e in room.server.store.events(room.incident) if e.type == "participant_joined"
    )
    for seq in (decision, joined, 1):
        for name in ("ana", "sam"):
            await room.refused(name, amend(seq, "anything"), {"not_amendable"})
    await room.allowed("lee", amend(card, "pool too small"))
    await room.allowed("sam", amend(evidence, "select 1"))
    item = room.state.board[card]
    assert item.text == "pool too small" and [e.text for e in item.evidence] == ["select 1"]


async def test_only_the_scribe_and_the_ic_retime(room):  # noqa: F811
    needs("entry_retimed")
    seq = await room.allowed("rey", NoteAdded(text="rollback started"))
    for name in ("rey", "cam", "lee", "obi"):  # the author too: times are the scribe's to keep
        await room.refused(name, retime(seq), {"forbidden"})
    await room.allowed("sam", retime(seq))
    await room.allowed("ana", retime(seq))
    assert [r.by for r in room.state.retimes[seq]] == ["sam", "ana"]
    stored = next(e for e in room.server.store.events(room.incident) if e.seq == seq)
    assert stored.at == T0  # the time of recording is untouched


async def test_noted_at_is_stored_beside_at_and_a_wrong_clock_is_refused(room):  # noqa: F811
    typed = T0 - timedelta(minutes=2)
    seq = await room.allowed("rey", NoteAdded(text="typed on the train", noted_at=typed))
    stored = next(e for e in room.server.store.events(room.incident) if e.seq == seq)
    assert (stored.noted_at, stored.at) == (typed, T0)

    ahead = NoteAdded(text="from the future", noted_at=T0 + NOTED_SKEW + timedelta(minutes=1))
    await room.refused("rey", ahead, {"invalid"})
    ancient = NoteAdded(text="from last week", noted_at=T0 - timedelta(days=7))
    await room.refused("rey", ancient, {"invalid"})


async def test_a_raw_frame_with_a_bad_noted_at_gets_a_clear_error_and_the_hub_carries_on(room):  # noqa: F811
    """As an outsider would send it: no client library, a naive time and then a string that is
    no time at all."""
    before = room.fingerprint()
    async with websockets.connect(room.server.url) as ws:
        await ws.send(
            json.dumps({"op": "hello", "name": "rey2", "role": "responder", "protocol": 2})
        )
        json.loads(await ws.recv())
        await ws.send(json.dumps({"op": "join", "incident": room.incident}))
        while json.loads(await ws.recv())["op"] != "synced":
            pass
        for noted in ("2026-03-14T08:59:00", "yesterday-ish"):
            command = {"type": "note_added", "text": "x", "noted_at": noted}
            await ws.send(json.dumps({"op": "command", "command": command}))
            while (reply := json.loads(await ws.recv()))["op"] != "error":
                pass
            assert reply["code"] == "invalid"
            assert "noted_at" in reply["message"]
    await eventually(lambda: room.state.participants["rey2"].online is False)
    # only rey2's coming and going were recorded
    assert room.server.store.count(room.incident) == before[1] + 2
