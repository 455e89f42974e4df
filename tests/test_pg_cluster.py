"""Several hubs on one PostgreSQL database (#22): one gap-free log per incident, every hub's
consoles see every hub's events, timers fire once, and a hub killed mid-write loses nothing
it acknowledged.

Real hubs on 127.0.0.1 (in-process, and subprocesses killed with SIGKILL) on a real PostgreSQL
server (``tests/postgres.py``), real websocket clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
from warroom.hub.storage_pg import CHANNEL

from tests.console_helpers import INCIDENT_ID, is_live, make_console, screen_text, seed_incident
from tests.helpers import T0, HubProcess, client, declare_incident, eventually, running_hub
from warroom.client.sync import IncidentClient
from warroom.core.clock import ManualClock, utc_now
from warroom.core.incident import NoteAdded
from warroom.core.lock import LockRequested
from warroom.core.protocol import Ack


def stored(url: str, incident: str) -> list[tuple[int, str, str]]:
    """``(seq, id, type)`` of every stored event of ``incident``, in seq order."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT seq, id, type FROM events WHERE incident_id = %s ORDER BY seq", [incident]
        ).fetchall()
    return [(int(s), str(i), str(t)) for s, i, t in rows]


def assert_gap_free(rows: list[tuple[int, str, str]]) -> None:
    assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
    assert len({id_ for _, id_, _ in rows}) == len(rows)


def burst(c: IncidentClient, count: int) -> list[asyncio.Future[Any]]:
    """``count`` notes sent at once (not one by one): they meet the other hub's in the database."""
    return [c.send(NoteAdded(text=f"{c.name} {i}")) for i in range(count)]


@contextlib.asynccontextmanager
async def two_hubs(url: str, clock: ManualClock) -> AsyncIterator[tuple[Any, Any, str, list]]:
    """Hubs a and b on one database, an incident ana declared on a, ana on a and bo on b:
    ``(a, b, incident, [ana, bo])``; the clients are closed afterwards."""
    async with running_hub(url, clock=clock) as a, running_hub(url, clock=clock) as b:
        incident = await declare_incident(a.url)
        ana = await client(a.url, "ana", "ic", incident)
        bo = await client(b.url, "bo", "responder", incident)  # b loads it from the database
        try:
            yield a, b, incident, [ana, bo]
        finally:
            await asyncio.gather(ana.close(), bo.close())


async def test_two_hubs_write_one_incident_at_once_and_both_sides_see_one_log(pg_url):
    async with two_hubs(pg_url, ManualClock(T0)) as (a, b, incident, (ana, bo)):
        cy = await client(b.url, "cy", "responder", incident)
        replies = await asyncio.gather(*burst(ana, 60), *burst(bo, 60), *burst(cy, 60))
        assert all(isinstance(r, Ack) for r in replies), replies
        rows = stored(pg_url, incident)
        assert_gap_free(rows)
        # Acknowledged means committed, at the seq the ack named.
        by_id = {id_: seq for seq, id_, _ in rows}
        assert all(by_id[str(r.id)] == r.seq for r in replies)
        head = rows[-1][0]
        for c in (ana, bo, cy):
            await c.wait_for_seq(head)
            assert [str(e.id) for e in c.log if e.seq <= head] == [
                id_ for seq, id_, _ in rows if seq >= c.log[0].seq
            ]
        await eventually(lambda: a.hub.rooms[incident].head == b.hub.rooms[incident].head == head)
        assert a.hub.rooms[incident].state == b.hub.rooms[incident].state
        await cy.close()


async def test_a_lost_notification_is_repaired_by_reading_by_seq(pg_url):
    """A hub that missed the wake-up still catches up: it compares heads every second."""
    async with running_hub(pg_url) as a, running_hub(pg_url) as b:
        incident = await declare_incident(a.url)
        await eventually(lambda: incident in b.hub.rooms)  # b loads what a declared
        assert b.follower is not None
        b.follower.channel = "nobody_sends_here"  # b stops hearing a's notifications...
        await b.follower.stop()
        b.follower.start()
        ana = await client(a.url, "ana", "ic", incident)
        watcher = await client(b.url, "bo", "responder", incident)
        ack = await ana.post(NoteAdded(text="written on a"))
        assert isinstance(ack, Ack)
        await watcher.wait_for_seq(ack.seq, timeout=5)  # ...and reads it anyway
        assert b.follower.repaired >= 1
        assert b.follower.channel != CHANNEL
        await ana.close()
        await watcher.close()


async def test_a_timer_due_on_every_hub_fires_once(pg_url):
    clock = ManualClock(T0)
    async with two_hubs(pg_url, clock) as (a, b, incident, (_, bo)):
        assert isinstance(await bo.post(LockRequested()), Ack)
        await eventually(lambda: a.hub.rooms[incident].state.lock.holder == "bo")
        clock.advance(timedelta(minutes=11))
        for _ in range(3):  # each hub ticks, at the same time, three times
            await asyncio.gather(a.hub.tick(), b.hub.tick())
        types = [t for _, _, t in stored(pg_url, incident)]
        assert types.count("lock_expired") == 1


async def test_a_hub_killed_mid_write_loses_nothing_it_acknowledged(pg_url):
    """Two hub processes; consoles post on both; one hub is SIGKILLed while they post. Every
    acknowledged event is stored once, the log stays gap-free, and the surviving hub's consoles
    (and the killed hub's, once it is back) hold the whole log."""
    a = HubProcess(pg_url)  # type: ignore[arg-type]
    b = HubProcess(pg_url)  # type: ignore[arg-type]
    a.start(timeout=60)
    b.start(timeout=60)
    writers: list[IncidentClient] = []
    try:
        incident = await declare_incident(a.url)
        on_a = [await client(a.url, f"a{i}", "responder", incident) for i in range(2)]
        on_b = [await client(b.url, f"b{i}", "responder", incident) for i in range(2)]
        writers = on_a + on_b
        acked: list[Ack] = []

        async def keep_posting(c: IncidentClient, count: int) -> None:
            for i in range(count):
                with contextlib.suppress(TimeoutError):
                    reply = await asyncio.wait_for(c.post(NoteAdded(text=f"{c.name} {i}")), 0.5)
                    if isinstance(reply, Ack):
                        acked.append(reply)

        posting = [asyncio.create_task(keep_posting(c, 40)) for c in writers]
        await eventually(lambda: len(acked) >= 40, timeout=30)
        assert a.proc is not None
        a.proc.send_signal(signal.SIGKILL)  # mid-write: the consoles on a are posting
        a.proc.wait()
        await asyncio.gather(*posting)
        rows = stored(pg_url, incident)
        assert_gap_free(rows)
        by_id = {id_: seq for seq, id_, _ in rows}
        assert all(by_id.get(str(r.id)) == r.seq for r in acked)
        # The survivor's consoles hold every stored event.
        head = rows[-1][0]
        for c in on_b:
            await c.wait_for_seq(head, timeout=30)
        a.start(timeout=60)  # back: its consoles reconnect and resume from their last seq
        rows = stored(pg_url, incident)
        head = rows[-1][0]
        for c in on_a:
            await c.wait_for_seq(head, timeout=30)
        for c in writers:
            assert [str(e.id) for e in c.log if e.seq <= head][-10:] == [id_ for _, id_, _ in rows][
                -10:
            ]
    finally:
        for c in writers:
            await c.close()
        a.kill()
        b.kill()


# --- consoles that fail over ------------------------------------------------------------------
async def test_a_console_fails_over_to_the_other_hub_and_resumes_from_its_last_seq(pg_url):
    """sam's console is joined to hub a, with hub b as its fall-back. a is SIGKILLed: the
    console goes on with b, from its last seq, and what sam typed meanwhile is stored once."""
    a = HubProcess(pg_url)  # type: ignore[arg-type]
    b = HubProcess(pg_url)  # type: ignore[arg-type]
    a.start(timeout=60)
    b.start(timeout=60)
    try:
        await seed_incident(a.url)
        app = make_console(
            a.url, name="sam", role="scribe", fallback=[b.url], outbox_dir=None, clock=utc_now
        )  # the hubs run on the real clock: so does this console
        async with app.run_test(size=(100, 30)) as pilot:
            await eventually(lambda: is_live(app), timeout=10)
            await pilot.pause()
            await pilot.press("n", *"before the kill", "enter")
            await eventually(lambda: any(e.type == "note_added" for e in app.client.log))
            seen = app.client.last_seq
            assert a.proc is not None
            a.proc.send_signal(signal.SIGKILL)
            a.proc.wait()
            await pilot.press("n", *"typed while failing over", "enter")
            await eventually(
                lambda: app.client.url == b.url and is_live(app) and not app.client.outbox,
                timeout=15,
            )
            await pilot.pause()
            texts = [e.text for e in app.client.log if e.type == "note_added"]
            assert texts == ["before the kill", "typed while failing over"]
            assert app.client.last_seq > seen
            assert "typed while failing over" in screen_text(app)
        rows = stored(pg_url, INCIDENT_ID)
        assert_gap_free(rows)
        assert [t for _, _, t in rows].count("note_added") == 2
    finally:
        a.kill()
        b.kill()


def test_join_and_the_config_file_take_several_hubs(tmp_path, monkeypatch):
    import argparse

    from warroom.config import load_config
    from warroom.console.launch import resolve_seat

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "warroom").mkdir()
    (tmp_path / "warroom" / "config.toml").write_text(
        'name = "sam"\nhub = "hub-a:8765, wss://hub-b:8765"\n'
    )
    args = {"url": None, "name": None, "role": None, "token": None, "theme": None}
    seat = resolve_seat(argparse.Namespace(**args), load_config())
    assert (seat.url, seat.fallback) == ("ws://hub-a:8765", ["wss://hub-b:8765"])
    given = argparse.Namespace(**{**args, "url": "ws://c:1,ws://d:2,ws://e:3"})
    seat = resolve_seat(given, load_config())
    assert (seat.url, seat.fallback) == ("ws://c:1", ["ws://d:2", "ws://e:3"])


async def test_hubs_carry_on_after_the_database_dropped_every_connection(pg_server, pg_url):
    """What a restart or failover of PostgreSQL does to the hubs: every connection is cut.
    The next command on each hub is stored (a new connection, begun again: nothing had been
    written), and the hubs hear each other again."""
    async with two_hubs(pg_url, ManualClock(T0)) as (_, _, incident, (ana, bo)):
        database = urlsplit(pg_url).path.lstrip("/")
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
            (cut,) = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            ).fetchone()
        assert cut >= 6  # each hub's writer, reader, store, people and listener
        first = await ana.post(NoteAdded(text="right after the cut"))
        assert isinstance(first, Ack), first
        second = await bo.post(NoteAdded(text="on the other hub"))
        assert isinstance(second, Ack), second
        await ana.wait_for_seq(second.seq, timeout=5)
        await bo.wait_for_seq(second.seq, timeout=5)
        assert_gap_free(stored(pg_url, incident))


# --- webhook deliveries ----------------------------------------------------------------------
async def test_a_hub_starting_while_another_delivers_an_update_does_not_post_it_again(pg_url):
    """Hub a publishes; the endpoint takes its time. Hub b starts meanwhile and resumes the
    deliveries that have no outcome: the one a is making is claimed (SKIP LOCKED), so b skips
    it. The endpoint gets one post, and one outcome is recorded."""
    from tests.test_comms_webhooks import fast_policy, publish, target, webhook

    clock = ManualClock(T0)
    async with webhook(hang=True) as endpoint:
        hook = target(endpoint, "status", timeout=2.0)
        hubs = {"webhooks": [hook], "delivery": fast_policy(attempts=1), "clock": clock}
        async with running_hub(pg_url, **hubs) as a:
            incident = await declare_incident(a.url)
            ana = await client(a.url, "ana", "ic", incident)
            await publish(ana, clock)
            await eventually(lambda: len(endpoint.requests) == 1)  # a is posting, stuck
            async with running_hub(pg_url, **hubs) as b:
                await eventually(lambda: incident in b.hub.rooms)
                await asyncio.sleep(0.5)  # b's resume has run: it skipped a's delivery
                assert len(endpoint.requests) == 1
                await a.webhooks.idle()  # a's attempt times out: its outcome is recorded
                await eventually(lambda: "update_delivery_failed" in types_of(pg_url, incident))
                await b.webhooks.idle()
            assert len(endpoint.requests) == 1
            assert types_of(pg_url, incident).count("update_delivery_failed") == 1
            await ana.close()


def types_of(url: str, incident: str) -> list[str]:
    return [t for _, _, t in stored(url, incident)]


async def test_a_delivery_its_hub_abandoned_is_made_by_another_hub(pg_url, monkeypatch):
    """Hub a's delivery dies mid-post (its task is cancelled, as when its process dies: the
    claim's transaction goes with it). Hub b, which skipped it while a held it, takes it over
    on its next look and records the one outcome."""
    from warroom.hub import storage_claims

    from tests.test_comms_webhooks import fast_policy, publish, target, webhook

    monkeypatch.setattr(storage_claims, "RESUME_EVERY", 0.2)
    clock = ManualClock(T0)
    async with webhook(hang=True) as endpoint:
        hook = target(endpoint, "status", timeout=30.0)
        hubs = {"webhooks": [hook], "delivery": fast_policy(attempts=1), "clock": clock}
        async with running_hub(pg_url, **hubs) as a, running_hub(pg_url, **hubs) as b:
            incident = await declare_incident(a.url)
            ana = await client(a.url, "ana", "ic", incident)
            await publish(ana, clock)
            await eventually(lambda: len(endpoint.requests) == 1)  # a is posting, stuck
            await asyncio.sleep(0.5)
            assert len(endpoint.requests) == 1  # b looked, and left it to a
            endpoint.hang = False
            await a.webhooks.close()  # a's delivery dies without an outcome
            await eventually(lambda: "update_delivered" in types_of(pg_url, incident))
            await b.webhooks.idle()
            assert len(endpoint.requests) == 2
            assert types_of(pg_url, incident).count("update_delivered") == 1
            await ana.close()
