"""Redaction of secrets on a real hub (issue 23, item 2): the pasted secret is gone from the
database file, its WAL, the hub's memory (state, frames, checkpoint), a fresh export, every
console's copy, a console that joins later, the hub after a restart, and a JSON webhook's
retried body. Those without the right are refused over the wire and nothing changes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from warroom.hub import snapshots

from tests.helpers import T0, client, declare_incident, eventually, running_hub
from tests.test_comms_webhooks import fast_policy, target, webhook
from warroom.client.sync import IncidentClient
from warroom.core.clock import ManualClock
from warroom.core.comms import UpdatePublished
from warroom.core.corrections import EntryAmended
from warroom.core.incident import NoteAdded
from warroom.core.protocol import Ack, Error
from warroom.core.redaction import EntryRedacted
from warroom.core.roles import Role
from warroom.export.exporter import export_incidents
from warroom.export.sources import DatabaseSource

SECRET = "hunter2-Pr0d-db-PASSWORD"
REASON = "database password pasted"
MARKER = f"[redacted by sam: {REASON}]"


def on_disk(db: Path) -> bytes:
    """Every byte SQLite keeps for ``db``: the file, its write-ahead log and its index."""
    return b"".join(
        p.read_bytes() for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()
    )


def export(db: Path, out: Path, incident: str) -> None:
    source = DatabaseSource(db)
    try:
        export_incidents(source, out, [incident])
    finally:
        source.close()


def holds_secret(c: IncidentClient) -> bool:
    return SECRET in c.state.model_dump_json() or any(SECRET in e.model_dump_json() for e in c.log)


async def a_room_with_a_secret(url: str) -> tuple[str, dict[str, IncidentClient], int]:
    """ana (IC), sam (scribe), bo and a guest; bo pastes a command with a password, then
    amends it with the password still in it."""
    incident = await declare_incident(url)
    people = {
        "ana": await client(url, "ana", "ic", incident),
        "sam": await client(url, "sam", "scribe", incident),
        "bo": await client(url, "bo", "responder", incident),
    }
    note = await people["bo"].post(NoteAdded(kind="command", text=f"psql -p {SECRET} prod"))
    assert isinstance(note, Ack)
    amended = await people["bo"].post(
        EntryAmended(entry=note.seq, text=f"psql -W {SECRET} prod-eu", reason="flag")
    )
    assert isinstance(amended, Ack), amended
    for c in people.values():
        await eventually(lambda c=c: c.state.seq >= amended.seq)
    return incident, people, note.seq


async def test_a_redacted_secret_is_gone_from_every_copy(tmp_path) -> None:
    db = tmp_path / "hub.db"
    async with running_hub(db, clock=ManualClock(T0)) as hub:
        incident, people, n = await a_room_with_a_secret(hub.url)
        assert SECRET.encode() in on_disk(db), "the test can see a secret on disk"
        room = hub.hub.rooms[incident]
        # a console joining now is sent a snapshot (the amendment's text in it), which the hub
        # keeps for the next one
        early = await client(hub.url, "cy", "responder", incident)
        assert SECRET in str(snapshots._LATEST.get(room))
        earlier = tmp_path / "earlier.db"  # an export made before the redaction, refreshed after
        export(db, earlier, incident)
        assert SECRET.encode() in on_disk(earlier)

        reply = await people["sam"].post(EntryRedacted(entry=n, reason=REASON))
        assert isinstance(reply, Ack), reply
        for c in people.values():
            await eventually(lambda c=c: c.state.seq >= reply.seq)

        # the database file and its WAL, while the hub runs
        assert SECRET.encode() not in on_disk(db)
        # the hub's memory: the state, the frames a console is served from
        assert SECRET not in room.state.model_dump_json()
        assert all(SECRET not in str(f) for f in room.frames)
        assert SECRET not in str(snapshots._LATEST.get(room))
        assert all(SECRET not in e.model_dump_json() for e in hub.hub._batch_events.values())
        # every console's copy: the state and the log, the entry reading the marker
        await eventually(lambda: early.state.seq >= reply.seq)
        for c in [early, *people.values()]:
            assert not holds_secret(c)
            entry = next(e for e in c.log if e.seq == n)
            assert isinstance(entry, NoteAdded) and entry.text == MARKER
            assert entry.actor == "bo" and entry.kind == "command"
            assert c.state.redactions[n].by == "sam"
        # a fresh export
        out = tmp_path / "export.db"
        export(db, out, incident)
        assert SECRET.encode() not in on_disk(out)
        assert b"hunter2" not in on_disk(out).lower(), "nor a word of it in the search index"
        assert MARKER.encode() in out.read_bytes()
        export(db, earlier, incident)
        assert SECRET.encode() not in on_disk(earlier), "a refreshed export forgets it too"
        assert b"hunter2" not in on_disk(earlier).lower(), "and its full-text index"
        # a console joining now
        late = await client(hub.url, "cy", "responder", incident)
        assert not holds_secret(late)
        await late.close()
        for c in [early, *people.values()]:
            await c.close()
    # after a restart the hub serves what it stored (its checkpoint included)
    assert SECRET.encode() not in on_disk(db)
    async with running_hub(db, clock=ManualClock(T0)) as hub:
        again = await client(hub.url, "ana", "ic", incident)
        assert not holds_secret(again)
        assert again.state.redactions[n].reason == REASON
        await again.close()


@pytest.mark.parametrize(("who", "seat"), [("bo", "responder"), ("dee", "lead"),
                                           ("cal", "comms"), ("olly", "observer")])  # fmt: skip
async def test_without_the_right_the_hub_refuses_and_nothing_changes(tmp_path, who, seat) -> None:
    db = tmp_path / "hub.db"
    async with running_hub(db, clock=ManualClock(T0)) as hub:
        incident, people, n = await a_room_with_a_secret(hub.url)
        them = await client(hub.url, who, seat, incident)
        head = them.state.seq
        reply = await them.post(EntryRedacted(entry=n, reason=REASON))
        assert isinstance(reply, Error) and reply.code == "forbidden", reply
        assert them.state.seq == head and them.state.redactions == {}
        assert SECRET.encode() in on_disk(db), "nothing was rewritten"
        for c in [them, *people.values()]:
            await c.close()


async def test_a_guest_is_refused_even_in_the_scribes_seat(tmp_path) -> None:
    from tests.test_security import guest_client
    from warroom.core.access import JoinCodeCreated, new_join_code
    from warroom.core.incident import RoleAssigned

    db = tmp_path / "hub.db"
    async with running_hub(db, clock=ManualClock(T0)) as hub:
        incident, people, n = await a_room_with_a_secret(hub.url)
        issued = new_join_code(incident)
        ack = await people["ana"].post(
            JoinCodeCreated(code_id=issued.code_id, digest=issued.digest, label="vendor")
        )
        assert isinstance(ack, Ack), ack
        guest = guest_client(hub.url, "vic", "responder", incident, issued.code)
        await guest.wait_synced()
        given = await people["ana"].post(RoleAssigned(assigned_role="scribe", holder="guest:vic"))
        assert isinstance(given, Ack), given
        await eventually(lambda: guest.state.holder(Role.SCRIBE) == "guest:vic")
        reply = await guest.post(EntryRedacted(entry=n, reason=REASON))
        assert isinstance(reply, Error) and reply.code == "forbidden", reply
        assert SECRET.encode() in on_disk(db), "nothing was rewritten"
        for c in [guest, *people.values()]:
            await c.close()


async def test_a_json_webhook_retried_after_a_redaction_posts_the_redacted_text(tmp_path):
    """The first attempt fails; the comms update is redacted before the retry."""
    clock = ManualClock(T0)
    redacted = asyncio.Event()
    waited: list[float] = []

    async def sleep(delay: float) -> None:  # the backoff waits until the redaction is in
        waited.append(delay)
        await redacted.wait()

    async with (
        webhook(script=[503]) as flaky,
        running_hub(tmp_path / "hub.db", clock=clock, webhooks=[target(flaky, "feed", "json")],
                    delivery=fast_policy(sleep)) as hub,  # type: ignore[arg-type]
    ):  # fmt: skip
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        sam = await client(hub.url, "sam", "scribe", incident)
        update = await ana.post(
            UpdatePublished(
                audience="external",
                text=f"Rolled back. Token {SECRET}",
                fields={"impact": f"creds {SECRET}"},
            )  # fmt: skip
        )
        assert isinstance(update, Ack), update
        await eventually(lambda: len(flaky.requests) == 1 and waited)
        assert SECRET in json.dumps(flaky.bodies[0]), "the first attempt carried it"
        reply = await sam.post(EntryRedacted(entry=update.seq, reason=REASON))
        assert isinstance(reply, Ack), reply
        redacted.set()
        await eventually(lambda: len(flaky.requests) == 2)
        await hub.webhooks.idle()
        retried = json.dumps(flaky.bodies[1])
        assert SECRET not in retried
        assert MARKER in retried
        for c in (ana, sam):
            await c.close()
