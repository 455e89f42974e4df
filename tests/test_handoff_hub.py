"""IC handoff between real consoles' clients and a real hub on 127.0.0.1, with a manual clock.

Every test ends by replaying the whole stored log and checking that after the declaration each
step had exactly one IC, and that the IC only ever changed by acceptance or claim.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.helpers import T0, client, declare_incident, eventually, running_hub
from warroom.client.sync import IncidentClient
from warroom.core.board import BoardItemAdded
from warroom.core.briefing import build_briefing
from warroom.core.clock import ManualClock
from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.handoff import (
    HandoffAccepted,
    HandoffDeclined,
    HandoffOffered,
    HandoffWithdrawn,
    IcClaimed,
    offer_to,
)
from warroom.core.roles import Role
from warroom.core.state import IncidentState

#: The only events after which the IC may differ from before.
MOVES_IC = {"incident_declared", "handoff_accepted", "ic_claimed"}


def ic_history(server, incident: str) -> list[str | None]:
    """The IC after every stored event, asserting the one-IC rule at each step."""
    state, history = IncidentState(), []
    for ev in server.store.events(incident):
        before = state.ic
        state = apply(state, ev)
        assert state.ic is not None, f"no IC after {ev.type} (seq {ev.seq})"
        if state.ic != before:
            assert ev.type in MOVES_IC, f"the IC changed on {ev.type} (seq {ev.seq})"
        history.append(state.ic)
    return history


async def room(hub, *names: str):
    incident = await declare_incident(hub.url)
    ana = await client(hub.url, "ana", "ic", incident)
    others = [await client(hub.url, n, "responder", incident) for n in names]
    for c in (ana, *others):
        await eventually(lambda c=c: set(c.state.participants) >= {"ana", *names})
    return incident, ana, others


async def offer_ic(outgoing: IncidentClient, to: str, notes: str = ""):
    state = outgoing.state
    return await outgoing.post(
        HandoffOffered(
            offered_role="ic",
            to=to,
            notes=notes,
            briefing=build_briefing(state, Role.IC).model_dump(mode="json"),
        )
    )


def answer(me: IncidentClient, kind: type[EventBase], **extra):
    offer = offer_to(me.state, me.name) or me.state.offers[Role.IC]
    return me.post(
        kind(
            offer=str(offer.id),
            offered_role=offer.role.value,
            outgoing=offer.outgoing,
            incoming=offer.incoming,
            **extra,
        )
    )


async def settle(server, incident: str, *clients: IncidentClient) -> None:
    head = server.hub.rooms[incident].head
    for c in clients:
        await c.wait_for_seq(head)


async def close_all(*clients: IncidentClient) -> None:
    await asyncio.gather(*(c.close() for c in clients))


async def test_offer_then_accept_moves_ic_once_and_keeps_the_briefing_on_the_timeline(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        incident, ana, (bo,) = await room(server, "bo")
        await ana.post(BoardItemAdded(kind="fact", text="5xx began 08:56"))
        briefing = build_briefing(ana.state)

        ack = await offer_ic(ana, "bo", notes="Next: roll back pricing if 5xx stays above 5%")
        assert ack.op == "ack"
        await bo.wait_for_seq(ack.seq)
        seen = offer_to(bo.state, "bo")
        assert seen is not None and seen.briefing == briefing and bo.state.ic == "ana"
        assert seen.notes.startswith("Next: roll back")

        accepted = await answer(bo, HandoffAccepted)
        assert accepted.op == "ack"
        await settle(server, incident, ana, bo)
        assert ana.state.ic == bo.state.ic == "bo"
        assert ana.state.offers == {} and ana.state == bo.state

        stored = {e.type: e for e in server.store.events(incident)}
        assert stored["handoff_offered"].briefing == briefing  # as it was at the handoff
        assert ic_history(server, incident)[-1] == "bo"
        assert "ana" in ic_history(server, incident)
        await close_all(ana, bo)


async def test_offer_then_decline_leaves_ana_in_charge(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        incident, ana, (bo,) = await room(server, "bo")
        ack = await offer_ic(ana, "bo")
        await bo.wait_for_seq(ack.seq)
        declined = await answer(bo, HandoffDeclined, reason="I am deep in the DB pool")
        assert declined.op == "ack"
        await settle(server, incident, ana, bo)
        assert ana.state.ic == bo.state.ic == "ana" and bo.state.offers == {}
        assert set(ic_history(server, incident)) == {"ana"}
        # An answer to a closed offer is refused and changes nothing.
        late = await answer_closed(bo, ack.id)
        assert late.op == "error" and late.code == "no_offer"
        await close_all(ana, bo)


async def answer_closed(me: IncidentClient, offer_id):
    return await me.post(
        HandoffAccepted(offer=str(offer_id), offered_role="ic", outgoing="ana", incoming=me.name)
    )


async def test_outgoing_disconnects_and_the_offer_lapses_then_the_room_claims(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as server:
        incident, ana, (bo, cy) = await room(server, "bo", "cy")
        ack = await offer_ic(ana, "bo")
        await bo.wait_for_seq(ack.seq)
        await ana.close()
        await eventually(lambda: not bo.state.participants["ana"].online)
        # ana is offline but still IC, and the offer still stands until its deadline.
        assert bo.state.ic == "ana" and offer_to(bo.state, "bo") is not None

        clock.advance(server.hub.settings.handoff_ttl - timedelta(seconds=1))
        await server.hub.tick()
        assert Role.IC in server.hub.rooms[incident].state.offers
        late = clock.advance(timedelta(seconds=1))
        await server.hub.tick()
        await settle(server, incident, bo, cy)
        assert bo.state.offers == {} and bo.state.ic == "ana"
        lapse = next(e for e in bo.log if e.type == "handoff_expired")
        assert lapse.actor == "warroom" and lapse.at == late and lapse.offer == ack.id
        refused = await answer_closed(bo, ack.id)
        assert refused.op == "error" and refused.code == "no_offer"
        await server.hub.tick()
        lapses = [e for e in server.store.events(incident) if e.type == "handoff_expired"]
        assert len(lapses) == 1  # a lapse is recorded once

        # Nobody leads the room now: cy claims the role, and it is on the timeline.
        claim = await cy.post(IcClaimed(previous="ana", reason="ana dropped off"))
        assert claim.op == "ack"
        await settle(server, incident, bo, cy)
        assert bo.state.ic == "cy" and bo.log[-1].describe().startswith("cy claimed")
        assert ic_history(server, incident)[-1] == "cy"
        await close_all(bo, cy)


async def test_outgoing_reconnects_and_withdraws_the_offer(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        incident, ana, (bo,) = await room(server, "bo")
        ack = await offer_ic(ana, "bo")
        await ana.close()
        again = await client(server.url, "ana", "ic", incident)
        assert again.state.offers[Role.IC].id == ack.id
        withdrawn = await answer(again, HandoffWithdrawn)
        assert withdrawn.op == "ack"
        await settle(server, incident, again, bo)
        assert bo.state.offers == {} and bo.state.ic == "ana"
        refused = await answer_closed(bo, ack.id)
        assert refused.op == "error" and refused.code == "no_offer"
        assert set(ic_history(server, incident)) == {"ana"}
        await close_all(again, bo)


async def test_two_simultaneous_claims_one_wins_the_other_is_told_why(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        incident, ana, (bo, cy) = await room(server, "bo", "cy")
        # While ana is online and leading, a claim is refused outright.
        present = await bo.post(IcClaimed(previous="ana"))
        assert present.op == "error" and present.code == "ic_present"
        await ana.close()
        await eventually(lambda: not bo.state.participants["ana"].online)
        await eventually(lambda: not cy.state.participants["ana"].online)

        replies = await asyncio.gather(
            bo.post(IcClaimed(previous="ana")), cy.post(IcClaimed(previous="ana"))
        )
        acks = [r for r in replies if r.op == "ack"]
        errors = [r for r in replies if r.op == "error"]
        assert len(acks) == 1 and len(errors) == 1
        assert errors[0].code == "ic_changed" and "changed since you looked" in errors[0].message
        winner = "bo" if replies[0].op == "ack" else "cy"
        await settle(server, incident, bo, cy)
        assert bo.state.ic == cy.state.ic == winner
        assert [e.type for e in server.store.events(incident)].count("ic_claimed") == 1
        ic_history(server, incident)
        await close_all(bo, cy)


async def test_two_simultaneous_offers_only_one_stands(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        incident, ana, (bo, cy) = await room(server, "bo", "cy")
        replies = await asyncio.gather(offer_ic(ana, "bo"), offer_ic(ana, "cy"))
        assert sorted(r.op for r in replies) == ["ack", "error"]
        error = next(r for r in replies if r.op == "error")
        assert error.code == "offer_pending" and "withdraw that offer first" in error.message
        await settle(server, incident, ana, bo, cy)
        assert len(ana.state.offers) == 1
        await close_all(ana, bo, cy)


async def test_accept_racing_withdraw_exactly_one_takes_effect(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        incident, ana, (bo,) = await room(server, "bo")
        for _ in range(3):
            holder = ana if ana.state.ic == "ana" else bo
            other = bo if holder is ana else ana
            ack = await offer_ic(holder, other.name)
            await other.wait_for_seq(ack.seq)
            accepted, withdrawn = await asyncio.gather(
                answer(other, HandoffAccepted), answer(holder, HandoffWithdrawn)
            )
            assert sorted([accepted.op, withdrawn.op]) == ["ack", "error"]
            loser = accepted if accepted.op == "error" else withdrawn
            assert loser.code == "no_offer"
            await settle(server, incident, ana, bo)
            expected = other.name if accepted.op == "ack" else holder.name
            assert ana.state.ic == bo.state.ic == expected and ana.state.offers == {}
        ic_history(server, incident)
        await close_all(ana, bo)


async def test_a_briefing_that_no_longer_matches_the_hub_is_refused(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        incident, ana, (bo,) = await room(server, "bo")
        stale = build_briefing(ana.state).model_dump(mode="json")
        fact = await bo.post(BoardItemAdded(kind="fact", text="Only EU cards fail"))
        await ana.wait_for_seq(fact.seq)
        head = server.hub.rooms[incident].head
        refused = await ana.post(HandoffOffered(offered_role="ic", to="bo", briefing=stale))
        assert refused.op == "error" and refused.code == "briefing_stale"
        assert server.hub.rooms[incident].head == head  # nothing was written
        ok = await offer_ic(ana, "bo")
        assert ok.op == "ack"
        await close_all(ana, bo)


async def test_rotation_is_suggested_by_the_hub_after_three_hours_in_role(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as server:
        incident, ana, (bo,) = await room(server, "bo")
        clock.advance(timedelta(hours=2, minutes=59))
        await server.hub.tick()
        assert not ana.state.rotation
        clock.advance(timedelta(minutes=1))
        await server.hub.tick()
        await settle(server, incident, ana, bo)
        assert [e.type for e in ana.log].count("rotation_due") == 1
        hint = ana.state.rotation[Role.IC]
        assert hint.holder == "ana" and bo.state.rotation == ana.state.rotation
        clock.advance(timedelta(hours=1))
        await server.hub.tick()
        await settle(server, incident, ana, bo)
        assert [e.type for e in ana.log].count("rotation_due") == 1
        await close_all(ana, bo)


async def test_an_offer_survives_a_hub_restart_and_lapses_once(tmp_path):
    db, clock = tmp_path / "hub.db", ManualClock(T0)
    async with running_hub(db, clock=clock) as server:
        incident, ana, (bo,) = await room(server, "bo")
        ack = await offer_ic(ana, "bo")
        await close_all(ana, bo)
    clock.advance(timedelta(minutes=10))
    for _ in range(2):  # the second start finds the lapse already recorded
        async with running_hub(db, clock=clock) as server:
            state = server.hub.rooms[incident].state
            assert state.ic == "ana" and not state.participants["ana"].online
            await server.hub.tick()
            lapses = [e for e in server.store.events(incident) if e.type == "handoff_expired"]
            assert [e.offer for e in lapses] == [ack.id]
            assert server.hub.rooms[incident].state.offers == {}
            ic_history(server, incident)
