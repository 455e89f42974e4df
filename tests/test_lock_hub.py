"""The production lock against a real hub on 127.0.0.1 with real websocket clients."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from tests.helpers import T0, client, declare_incident, eventually, running_hub
from warroom.core.actions import ActionFinished, ActionStarted
from warroom.core.clock import ManualClock
from warroom.core.lock import (
    LockForceReleased,
    LockHandedOver,
    LockReleased,
    LockRenewed,
    LockRequested,
)

ACTION = {
    "kind": "feature_flag_off",
    "target": "new-pricing-engine",
    "expected": "checkout latency p99 back under 800ms",
    "metric": "checkout p99",
    "value_before": "2.4s",
}


async def room(hub, *names: str, incident: str | None = None):
    """Declare an incident as ana (the IC) and connect ana plus ``names`` as responders."""
    incident = incident or await declare_incident(hub.url)
    ana = await client(hub.url, "ana", "ic", incident)
    others = [await client(hub.url, n, "responder", incident) for n in names]
    for c in (ana, *others):
        await eventually(lambda c=c: set(c.state.participants) >= {"ana", *names})
    return incident, ana, others


def stored_types(server, incident: str) -> list[str]:
    return [e.type for e in server.store.events(incident)]


async def settle(hub, *clients) -> None:
    """Wait until every client has every event the hub has stored."""
    head = hub.hub.rooms[clients[0].incident_id].head
    for c in clients:
        await c.wait_for_seq(head)


async def close_all(*clients) -> None:
    await asyncio.gather(*(c.close() for c in clients))


async def test_fifty_simultaneous_requests_one_holder_and_a_queue_in_receipt_order(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        names = [f"r{i:02d}" for i in range(50)]
        random.Random(7).shuffle(names)  # so that name order is not receipt order
        incident = await declare_incident(hub.url)
        requesters = await asyncio.gather(
            *(client(hub.url, n, "responder", incident) for n in names)
        )
        by_name = {c.name: c for c in requesters}
        joined = hub.hub.rooms[incident].head
        await asyncio.gather(*(c.wait_for_seq(joined) for c in requesters))

        acks = await asyncio.gather(*(c.post(LockRequested()) for c in requesters))
        assert all(a.op == "ack" for a in acks), [a for a in acks if a.op != "ack"]
        # The hub's order of receipt is the seq it stored each request under.
        received = [
            c.name
            for _, c in sorted(
                zip((a.seq for a in acks), requesters, strict=True), key=lambda p: p[0]
            )
        ]
        watcher = requesters[0]
        await watcher.wait_for_seq(max(a.seq for a in acks))
        lock = watcher.state.lock
        assert lock.holder == received[0] and lock.token == 1
        assert list(lock.queue) == received[1:] and len(lock.queue) == 49
        assert hub.hub.rooms[incident].state.lock == lock

        holders = [lock.holder]
        for _ in range(49):
            holder = by_name[watcher.state.lock.holder]
            ack = await holder.post(LockReleased(token=watcher.state.lock.token))
            assert ack.op == "ack", ack
            await watcher.wait_for_seq(ack.seq)
            holders.append(watcher.state.lock.holder)
        assert holders == received
        assert watcher.state.lock.token == 50 and watcher.state.lock.queue == ()
        assert [g.token for g in watcher.state.lock.grants] == list(range(1, 51))
        await close_all(*requesters)


async def test_requests_sent_one_after_another_queue_in_that_order(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        order = ["dee", "bo", "eve", "cy"]
        _, ana, others = await room(hub, *order)
        for c in sorted(others, key=lambda c: order.index(c.name)):
            assert (await c.post(LockRequested())).op == "ack"
        await settle(hub, ana, *others)
        assert ana.state.lock.holder == "dee"
        assert ana.state.lock.queue == ("bo", "eve", "cy")
        refused = await others[1].post(LockRequested())
        assert (refused.op, refused.code) == ("error", "already_queued")
        await close_all(ana, *others)


async def test_a_lease_expires_by_the_hubs_clock_and_passes_to_the_next(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident, ana, (bo, cy) = await room(hub, "bo", "cy")
        await bo.post(LockRequested())
        await cy.post(LockRequested())
        await settle(hub, ana, bo, cy)
        assert bo.state.lock.expires_at == T0 + timedelta(minutes=10)

        clock.advance(timedelta(minutes=9, seconds=59))
        await hub.hub.tick()
        assert "lock_expired" not in stored_types(hub, incident)
        ok = await bo.post(ActionStarted(token=1, **ACTION))
        assert ok.op == "ack"

        clock.advance(timedelta(seconds=1))
        await hub.hub.tick()
        await hub.hub.tick()  # a second tick at the same time records nothing new
        assert stored_types(hub, incident).count("lock_expired") == 1
        await settle(hub, ana, bo, cy)
        lock = cy.state.lock
        assert lock.holder == "cy" and lock.token == 2
        assert lock.granted_at == clock.now and lock.expires_at == clock.now + timedelta(minutes=10)
        assert any(e.type == "lock_expired" and e.holder == "bo" for e in bo.log)
        late = await bo.post(ActionStarted(token=1, **ACTION))
        assert (late.op, late.code) == ("error", "stale_token")
        await close_all(ana, bo, cy)


async def test_renewal_moves_the_deadline_and_a_renewed_lease_does_not_expire(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident, ana, (bo, cy) = await room(hub, "bo", "cy")
        await bo.post(LockRequested())
        clock.advance(timedelta(minutes=8))
        not_mine = await cy.post(LockRenewed(token=1))
        assert (not_mine.op, not_mine.code) == ("error", "not_holder")
        assert (await bo.post(LockRenewed(token=1))).op == "ack"
        await settle(hub, ana, bo)
        assert bo.state.lock.expires_at == T0 + timedelta(minutes=18)

        clock.advance(timedelta(minutes=5))  # past the first deadline, before the renewed one
        await hub.hub.tick()
        assert "lock_expired" not in stored_types(hub, incident)
        assert (await bo.post(ActionStarted(token=1, **ACTION))).op == "ack"

        clock.advance(timedelta(minutes=5))  # past the renewed deadline, expiry not yet recorded
        too_late = await bo.post(LockRenewed(token=1))
        assert (too_late.op, too_late.code) == ("error", "lease_expired")
        await hub.hub.tick()
        await settle(hub, ana, bo)
        assert bo.state.lock.free
        await close_all(ana, bo, cy)


async def test_a_disconnected_holder_keeps_the_lease_until_it_expires(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident, ana, (bo, cy) = await room(hub, "bo", "cy")
        await bo.post(LockRequested())
        await cy.post(LockRequested())
        await bo.close()
        await eventually(lambda: not cy.state.participants["bo"].online)
        assert cy.state.lock.holder == "bo"

        clock.advance(timedelta(minutes=9))
        await hub.hub.tick()
        await settle(hub, ana, cy)
        assert cy.state.lock.holder == "bo" and cy.state.lock.queue == ("cy",)
        refused = await cy.post(ActionStarted(token=1, **ACTION))
        assert (refused.op, refused.code) == ("error", "not_holder")

        clock.advance(timedelta(minutes=1))
        await hub.hub.tick()
        await settle(hub, ana, cy)
        assert cy.state.lock.holder == "cy" and cy.state.lock.token == 2
        await close_all(ana, cy)


async def test_the_ic_force_releases_and_hands_over_and_nobody_else_can(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident, ana, (bo, cy, dee) = await room(hub, "bo", "cy", "dee")
        await bo.post(LockRequested())
        await cy.post(LockRequested())
        await settle(hub, ana, bo, cy, dee)
        head = hub.hub.rooms[incident].head

        for who in (bo, dee):
            refused = await who.post(LockForceReleased(token=1, reason="mine now"))
            assert (refused.op, refused.code) == ("error", "forbidden")
            refused = await who.post(LockHandedOver(token=1, to="dee"))
            assert (refused.op, refused.code) == ("error", "forbidden")
        assert hub.hub.rooms[incident].head == head, "a refused override was written"

        ack = await ana.post(LockForceReleased(token=1, reason="bo's laptop died"))
        assert ack.op == "ack"
        await dee.wait_for_seq(ack.seq)
        assert dee.state.lock.holder == "cy" and dee.state.lock.token == 2

        ack = await ana.post(LockHandedOver(token=2, to="dee", reason="dee owns the db"))
        assert ack.op == "ack"
        await bo.wait_for_seq(ack.seq)
        lock = bo.state.lock
        assert lock.holder == "dee" and lock.token == 3
        assert [(g.holder, g.ended) for g in lock.grants] == [
            ("bo", "forced"),
            ("cy", "handed_over"),
            ("dee", None),
        ]
        stale = await ana.post(LockForceReleased(token=2, reason="again"))
        assert (stale.op, stale.code) == ("error", "stale_token")
        await close_all(ana, bo, cy, dee)


async def test_stale_and_non_holder_actions_are_refused_and_nothing_is_written(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident, ana, (bo, cy) = await room(hub, "bo", "cy")
        await bo.post(LockRequested())
        await cy.post(LockRequested())
        started = await bo.post(ActionStarted(token=1, **ACTION))
        assert started.op == "ack"
        await bo.post(LockReleased(token=1))
        await settle(hub, ana, bo, cy)
        assert cy.state.lock.holder == "cy" and cy.state.lock.token == 2
        head = hub.hub.rooms[incident].head
        stored = stored_types(hub, incident)

        stale = await bo.post(ActionStarted(token=1, **ACTION))  # bo's lease has ended
        assert (stale.op, stale.code) == ("error", "stale_token")
        forged = await cy.post(ActionStarted(token=3, **ACTION))  # a token never granted
        assert (forged.op, forged.code) == ("error", "stale_token")
        borrowed = await ana.post(ActionStarted(token=2, **ACTION))  # right token, not holder
        assert (borrowed.op, borrowed.code) == ("error", "not_holder")

        assert hub.hub.rooms[incident].head == head
        assert stored_types(hub, incident) == stored
        assert stored.count("action_started") == 1
        assert len(cy.state.actions) == 1

        ack = await cy.post(
            ActionFinished(action_id=str(started.id), value_after="2.5s", outcome="no_change")
        )
        assert ack.op == "ack"
        await ana.wait_for_seq(ack.seq)
        [action] = ana.state.actions.values()
        assert action.finished_by == "cy" and action.wants_undo
        await close_all(ana, bo, cy)
