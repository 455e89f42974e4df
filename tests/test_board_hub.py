"""The board through a real hub: two consoles see the same cards at every step."""

from __future__ import annotations

from tests.helpers import client, declare_incident, eventually, running_hub
from warroom.core.board import (
    BoardItemAdded,
    Column,
    EvidenceAdded,
    GuessClaimed,
    GuessConfirmed,
    GuessRuledOut,
    ItemStatus,
    column,
)


async def in_step(*consoles) -> None:
    """Wait until every console has folded the same log, then check their states are equal."""
    await eventually(lambda: len({c.last_seq for c in consoles}) == 1)
    first = consoles[0].state
    for other in consoles[1:]:
        assert other.state == first
        assert other.state.board == first.board


async def test_a_guess_added_in_one_console_claimed_in_the_other_and_confirmed_in_the_first(
    tmp_path,
):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        bo = await client(hub.url, "bo", "responder", incident)
        await in_step(ana, bo)

        added = await ana.post(
            BoardItemAdded(
                kind="guess",
                text="connection leak in v2.3.1",
                evidence=[{"kind": "graph", "text": "db pool dashboard"}],
            )
        )
        assert added.op == "ack"
        await in_step(ana, bo)
        card = bo.state.board[added.seq]
        assert card.status == ItemStatus.OPEN and card.author == "ana" and card.owner is None
        assert column(bo.state, Column.GUESSES) == [card]

        claimed = await bo.post(GuessClaimed(item=added.seq, subject=card.text))
        assert claimed.op == "ack"
        await in_step(ana, bo)
        assert ana.state.board[added.seq].owner == "bo"

        confirmed = await ana.post(
            GuessConfirmed(
                item=added.seq,
                evidence={"kind": "output", "text": "leaked conns: 4812"},
            )
        )
        assert confirmed.op == "ack"
        await in_step(ana, bo)
        fact = bo.state.board[added.seq]
        assert fact.status == ItemStatus.CONFIRMED and fact.resolved_by == "ana"
        assert fact.owner == "bo" and [e.text for e in fact.evidence] == [
            "db pool dashboard",
            "leaked conns: 4812",
        ]
        assert column(bo.state, Column.FACTS) == [fact] and column(bo.state, Column.GUESSES) == []
        timeline = [e.describe() for e in bo.log[-3:]]
        assert timeline == [
            f"Guess #{added.seq}: connection leak in v2.3.1 (1 evidence)",
            f"Checking guess #{added.seq}: connection leak in v2.3.1",
            f"Confirmed guess #{added.seq} (now a fact); output: leaked conns: 4812",
        ]
        await ana.close()
        await bo.close()


async def test_the_hub_refuses_a_silent_take_over_and_a_wrong_confirmer_and_writes_nothing(
    tmp_path,
):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        bo = await client(hub.url, "bo", "responder", incident)
        cy = await client(hub.url, "cy", "responder", incident)
        added = await bo.post(BoardItemAdded(kind="guess", text="dns flapping"))
        await bo.post(GuessClaimed(item=added.seq))
        await in_step(ana, bo, cy)
        head = cy.last_seq

        silent = await cy.post(GuessClaimed(item=added.seq))
        assert silent.op == "error" and silent.code == "owned" and "bo" in silent.message
        wrong = await cy.post(GuessRuledOut(item=added.seq, evidence={"text": "dig ok"}))
        assert wrong.op == "error" and wrong.code == "forbidden"
        unknown = await cy.post(EvidenceAdded(item=999, evidence={"text": "x"}))
        assert unknown.op == "error" and unknown.code == "unknown_item"
        await in_step(ana, bo, cy)
        assert cy.last_seq == head and bo.state.board[added.seq].owner == "bo"

        took = await cy.post(GuessClaimed(item=added.seq, take_over=True, previous_owner="bo"))
        assert took.op == "ack"
        ruled = await cy.post(
            GuessRuledOut(
                item=added.seq,
                evidence={"kind": "query", "text": "dig +trace ok from 3 regions"},
            )
        )
        assert ruled.op == "ack"
        await in_step(ana, bo, cy)
        card = ana.state.board[added.seq]
        assert card.owner == "cy" and card.status == ItemStatus.RULED_OUT
        assert column(ana.state, Column.RULED_OUT) == [card]
        assert ana.log[-2].describe() == f"Took over guess #{added.seq} from bo"
        for console in (ana, bo, cy):
            await console.close()
