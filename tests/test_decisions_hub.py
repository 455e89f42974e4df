"""The decision log through a real hub: a decision citing two facts, then superseded."""

from __future__ import annotations

from tests.helpers import client, declare_incident, eventually, running_hub
from warroom.core.board import BoardItemAdded, GuessConfirmed
from warroom.core.decisions import DecisionRecorded, FollowUpNoted


async def test_a_decision_citing_two_facts_then_superseded_is_the_same_in_every_console(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        bo = await client(hub.url, "bo", "responder", incident)
        errors = await bo.post(BoardItemAdded(kind="fact", text="5xx at 23% on /pay"))
        leak = await bo.post(BoardItemAdded(kind="guess", text="connection leak in v2.3.1"))
        await ana.post(GuessConfirmed(item=leak.seq))
        await ana.wait_for_seq(bo.last_seq)

        first = await ana.post(
            DecisionRecorded(
                what="Roll back to v2.3.0",
                why="the leak came with v2.3.1",
                owner="bo",
                options=["roll back", "hotfix forward"],
                facts=[errors.seq, leak.seq],
            )
        )
        assert first.op == "ack"
        later = await ana.post(
            DecisionRecorded(
                what="Hotfix forward",
                why="a migration blocks the rollback",
                supersedes=1,
                facts=[leak.seq],
            )
        )
        assert later.op == "ack"
        await eventually(lambda: bo.last_seq == ana.last_seq == later.seq)
        assert bo.state == ana.state
        d1, d2 = bo.state.decisions[1], bo.state.decisions[2]
        assert d1.facts == (errors.seq, leak.seq) and d1.owner == "bo" and d1.decided_by == "ana"
        assert d1.superseded_by == 2 and d2.supersedes == 1 and d2.active and not d1.active
        assert d1.seq == first.seq and d1.what == "Roll back to v2.3.0"
        assert bo.log[-1].describe().startswith("Decided: Hotfix forward (supersedes D1)")
        await ana.close()
        await bo.close()


async def test_the_hub_refuses_decisions_from_others_and_citing_unknown_cards(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        bo = await client(hub.url, "bo", "lead", incident)
        guess = await bo.post(BoardItemAdded(kind="guess", text="dns flapping"))
        head = guess.seq

        not_ic = await bo.post(DecisionRecorded(what="Fail over", why="dns"))
        assert not_ic.op == "error" and not_ic.code == "forbidden"
        unknown = await ana.post(DecisionRecorded(what="Fail over", why="dns", facts=[404]))
        assert (
            unknown.op == "error" and unknown.code == "unknown_item" and "#404" in unknown.message
        )
        on_a_guess = await ana.post(
            DecisionRecorded(what="Fail over", why="dns", facts=[guess.seq])
        )
        assert on_a_guess.op == "error" and on_a_guess.code == "not_a_fact"
        stale = await ana.post(DecisionRecorded(what="x", why="y", supersedes=3))
        assert stale.op == "error" and stale.code == "unknown_decision"
        past = await bo.post(FollowUpNoted(text="x", owner="bo", due="2020-01-01"))
        assert past.op == "error" and past.code == "invalid"

        noted = await bo.post(
            FollowUpNoted(text="Alert on dns error rate", owner="bo", due="2026-03-21")
        )
        assert noted.op == "ack" and noted.seq == head + 1
        await eventually(lambda: ana.last_seq == noted.seq)
        assert ana.state.decisions == {} and ana.state.follow_ups[1].owner == "bo"
        assert ana.state == bo.state
        await ana.close()
        await bo.close()
