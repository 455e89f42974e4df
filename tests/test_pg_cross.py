"""Cross-hub delivery (#22): a note posted on one hub reaches the consoles of every other hub on
the same PostgreSQL database, as the same event at the same seq, with nothing written on the
hubs that only follow (the wake-up and the read by seq alone carry it).

How fast is measured in ``bench/cluster.py`` (docs/BENCHMARKS.md), never timed here.
"""

from __future__ import annotations

import asyncio

from tests.helpers import T0, client, declare_incident, running_hub
from warroom.core.clock import ManualClock
from warroom.core.incident import NoteAdded
from warroom.core.protocol import Ack


async def test_a_note_posted_on_one_hub_reaches_the_consoles_of_the_two_others(pg_url):
    clock = ManualClock(T0)
    async with (
        running_hub(pg_url, clock=clock) as a,
        running_hub(pg_url, clock=clock) as b,
        running_hub(pg_url, clock=clock) as c,
    ):
        incident = await declare_incident(b.url)
        on_a = await client(a.url, "ana", "ic", incident)
        on_c = await client(c.url, "cy", "observer", incident)
        bo = await client(b.url, "bo", "responder", incident)
        try:
            ack = await bo.post(NoteAdded(text="written on b"))
            assert isinstance(ack, Ack)
            for watcher in (on_a, on_c):
                await watcher.wait_for_seq(ack.seq, timeout=10)
                (seen,) = [e for e in watcher.log if e.id == ack.id]
                (sent,) = [e for e in bo.log if e.id == ack.id]
                assert seen == sent  # the same event: seq, time, author, text
                assert seen.seq == ack.seq and seen.actor == "bo"
            # Nothing was written on a or c: the frames came from their followers.
            assert a.hub.rooms[incident].head == c.hub.rooms[incident].head == ack.seq
            assert a.follower is not None and c.follower is not None
            assert a.follower.notified >= 1 and c.follower.notified >= 1

            # And the other way round, from a and c at once: one order, on every hub.
            acks = await asyncio.gather(
                on_a.post(NoteAdded(text="written on a")),
                bo.post(NoteAdded(text="written on b again")),
            )
            last = max(r.seq for r in acks if isinstance(r, Ack))
            for watcher in (on_a, on_c, bo):
                await watcher.wait_for_seq(last, timeout=10)
            logs = [[(e.seq, e.id) for e in w.log if e.seq <= last] for w in (on_a, on_c, bo)]
            assert logs[0][-3:] == logs[1][-3:] == logs[2][-3:]
        finally:
            await asyncio.gather(on_a.close(), on_c.close(), bo.close())
