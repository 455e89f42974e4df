"""The production lock survives a SIGKILL of a real hub process."""

from __future__ import annotations

import signal

from tests.helpers import HubProcess, client, declare_incident, eventually
from warroom.core.actions import ActionStarted
from warroom.core.lock import LockHandedOver, LockReleased, LockRenewed, LockRequested


async def test_holder_queue_token_and_deadline_survive_a_killed_hub(tmp_path):
    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    hub.start()
    consoles = []
    try:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        bo, cy, dee = [await client(hub.url, n, "responder", incident) for n in ("bo", "cy", "dee")]
        consoles = [ana, bo, cy, dee]
        await eventually(lambda: set(ana.state.participants) == {"ana", "bo", "cy", "dee"})

        # Three grants, so the token is well past its first value: bo, then cy, then dee by
        # hand-over; bo and cy queue behind dee; dee renews and starts an action.
        assert (await bo.post(LockRequested())).op == "ack"
        assert (await cy.post(LockRequested())).op == "ack"
        assert (await bo.post(LockReleased(token=1))).op == "ack"
        assert (await ana.post(LockHandedOver(token=2, to="dee", reason="db owner"))).op == ("ack")
        assert (await bo.post(LockRequested())).op == "ack"
        assert (await cy.post(LockRequested())).op == "ack"
        assert (await dee.post(LockRenewed(token=3))).op == "ack"
        last = await dee.post(
            ActionStarted(
                token=3,
                kind="restart",
                target="pgbouncer",
                expected="connection errors stop",
                metric="db conn errors/s",
                value_before="340",
            )
        )
        assert last.op == "ack"
        await ana.wait_for_seq(last.seq)
        before = ana.state.lock
        assert (before.holder, before.queue, before.token) == ("dee", ("bo", "cy"), 3)
        assert before.renewals == 1 and before.expires_at is not None

        hub.kill()
        await eventually(lambda: all(c.status == "reconnecting" for c in consoles))
        hub.start()

        fresh = await client(hub.url, "eve", "observer", incident)
        consoles.append(fresh)
        await fresh.wait_for_seq(last.seq)
        after = fresh.state.lock
        assert after.holder == before.holder
        assert after.queue == before.queue
        assert after.token == before.token
        assert after.expires_at == before.expires_at
        assert after.granted_at == before.granted_at
        assert after.grants == before.grants
        assert fresh.state.actions == ana.state.actions

        # The restarted hub still enforces the lease it reloaded.
        await eventually(lambda: dee.status == "live", timeout=15)
        stale = await bo.post(
            ActionStarted(
                token=1,
                kind="restart",
                target="pgbouncer",
                expected="x",
                metric="y",
                value_before="z",
            )
        )
        assert (stale.op, stale.code) == ("error", "stale_token")
        assert (await dee.post(LockReleased(token=3))).op == "ack"
        await eventually(lambda: fresh.state.lock.holder == "bo")
        assert fresh.state.lock.token == 4
    finally:
        for c in consoles:
            await c.close()
        if hub.proc and hub.proc.poll() is None:
            hub.proc.send_signal(signal.SIGKILL)
            hub.proc.wait()
