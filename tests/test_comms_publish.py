"""Writing and publishing stakeholder updates: who may, what is prefilled, what outsiders see."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import T0, client, declare_incident, running_hub
from warroom.core.board import BoardItemAdded, GuessConfirmed
from warroom.core.clock import ManualClock
from warroom.core.comms import UpdatePublished
from warroom.core.comms_state import Audience
from warroom.core.lifecycle import TriageAnswered, TriageConfirmed
from warroom.core.protocol import Ack, Error
from warroom.core.update_text import (
    RangeError,
    format_range,
    open_guesses,
    parse_range,
    prefill,
    render,
)

GUESS = "connection leak in the v2.3.1 payment client"
FACT = "error rate on /pay is 23% since 13:55"


async def board_room(hub_url: str, clock: ManualClock):
    """ana (IC) with cy as comms lead and bo a responder; one fact and one guess on the board."""
    incident = await declare_incident(
        hub_url, severity="SEV2", scope="Card payments in the EU", symptoms="Checkout fails"
    )
    ana = await client(hub_url, "ana", "ic", incident)
    cy = await client(hub_url, "cy", "comms", incident)
    bo = await client(hub_url, "bo", "responder", incident)
    assert isinstance(await bo.post(BoardItemAdded(kind="fact", text=FACT)), Ack)
    last = await bo.post(BoardItemAdded(kind="guess", text=GUESS))
    assert isinstance(last, Ack)
    for c in (ana, cy, bo):
        await c.wait_for_seq(last.seq)
    clock.advance(timedelta(minutes=6))
    return incident, ana, cy, bo


def publish_args(state, audience: Audience, now, **override):
    draft = prefill(state, audience, now)
    if override:
        draft = type(draft)(
            audience=audience,
            fields=draft.fields.model_copy(update=override),
            next_update_at=draft.next_update_at,
        )
    return {
        "audience": audience.value,
        "text": render(state, draft, now),
        "fields": draft.fields.model_dump(mode="json"),
        "next_update_at": draft.next_update_at.isoformat() if draft.next_update_at else None,
    }


async def test_external_updates_never_contain_guesses(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        _, ana, cy, bo = await board_room(hub.url, clock)
        assert open_guesses(cy.state) == [GUESS]

        external = prefill(cy.state, Audience.EXTERNAL, clock())
        text = render(cy.state, external, clock())
        assert GUESS not in text and "Unconfirmed" not in text
        assert FACT in text and "Card payments in the EU" in text and "Checkout fails" in text

        internal = render(cy.state, prefill(cy.state, Audience.INTERNAL, clock()), clock())
        assert f"Unconfirmed, being checked: {GUESS}." in internal

        # The hub refuses an external update that states the guess, however it got there.
        quoting = publish_args(
            cy.state, Audience.EXTERNAL, clock(), doing=f"We found a {GUESS.upper()}."
        )
        refused = await cy.post(UpdatePublished(**quoting))
        assert isinstance(refused, Error) and refused.code == "unconfirmed_in_external"
        # The same words are fine for the room itself.
        internal_args = publish_args(
            cy.state, Audience.INTERNAL, clock(), doing=f"We found a {GUESS}."
        )
        assert isinstance(await cy.post(UpdatePublished(**internal_args)), Ack)

        # Once the guess is confirmed on the board it is a fact, and outsiders may hear it.
        guess_no = next(no for no, item in cy.state.board.items() if item.text == GUESS)
        assert isinstance(await ana.post(GuessConfirmed(item=guess_no)), Ack)
        await cy.wait_for_seq(ana.last_seq)
        confirmed = publish_args(cy.state, Audience.EXTERNAL, clock())
        assert GUESS in confirmed["text"]
        assert isinstance(await cy.post(UpdatePublished(**confirmed)), Ack)
        for c in (ana, cy, bo):
            await c.close()


async def test_only_the_comms_lead_or_the_ic_publish_and_the_update_is_on_the_timeline(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        _, ana, cy, bo = await board_room(hub.url, clock)
        args = publish_args(bo.state, Audience.EXTERNAL, clock())
        refused = await bo.post(UpdatePublished(**args))
        assert isinstance(refused, Error) and refused.code == "forbidden"

        ack = await cy.post(UpdatePublished(**args))
        assert isinstance(ack, Ack)
        await bo.wait_for_seq(ack.seq)
        stored = next(e for e in bo.log if e.id == ack.id)
        assert stored.text == args["text"] and stored.audience == "external"
        assert stored.actor == "cy" and stored.role == "comms" and stored.at == clock()
        assert stored.describe().startswith(
            "External update published: Checkout errors after deploy - update #1 (09:06 UTC)"
        )
        assert stored.describe().endswith("; next by 09:36 UTC")
        [update] = bo.state.comms.updates
        assert update.number == 1 and update.author == "cy" and update.severity == "SEV2"
        assert update.next_update_at == T0 + timedelta(minutes=36)

        ic_args = publish_args(ana.state, Audience.INTERNAL, clock())
        assert isinstance(await ana.post(UpdatePublished(**ic_args)), Ack)

        stale = dict(args, next_update_at=(clock() - timedelta(seconds=1)).isoformat())
        refused = await cy.post(UpdatePublished(**stale))
        assert isinstance(refused, Error) and refused.code == "invalid"
        for c in (ana, cy, bo):
            await c.close()


async def test_the_rendered_text_has_every_field_of_the_template(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        _, ana, cy, bo = await board_room(hub.url, clock)
        draft = prefill(cy.state, Audience.EXTERNAL, clock())
        fields = draft.fields.model_copy(
            update={
                "not_affected": "Card payments outside the EU; PayPal.",
                "resolution": parse_range("30-60"),
            }
        )
        text = render(
            cy.state, type(draft)(Audience.EXTERNAL, fields, draft.next_update_at), clock()
        )
        assert text.splitlines() == [
            "Checkout errors after deploy - update #1 (09:06 UTC)",
            "Status: Investigating",
            "Affected: Card payments in the EU",
            "Not affected: Card payments outside the EU; PayPal.",
            "What users should expect: Checkout fails",
            f"What we are doing: We are investigating the cause. What we know: {FACT}.",
            "Expected resolution: Between 30 minutes and 1 hour.",
            "Next update: by 09:36 UTC",
        ]
        internal = render(cy.state, prefill(cy.state, Audience.INTERNAL, clock()), clock())
        assert internal.splitlines()[0] == (
            "[09:06 UTC] SEV2 Checkout errors after deploy - internal update #1 (detected)"
        )
        assert "Expected resolution: Unknown at this time." in internal
        for c in (ana, cy, bo):
            await c.close()


def test_resolution_ranges_read_as_people_type_them():
    assert parse_range("unknown").unknown and parse_range("").unknown
    assert (parse_range("30-60").low_minutes, parse_range("30-60").high_minutes) == (30, 60)
    assert parse_range("1-2h").high_minutes == 120 and parse_range("1-2h").low_minutes == 60
    assert parse_range("30m to 2h").high_minutes == 120
    assert format_range(parse_range("1-2h")) == "1-2h" and format_range(parse_range("45")) == "45"
    for bad in ("soon", "60-30", "-5"):
        try:
            parse_range(bad)
        except RangeError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


async def test_triage_answers_reach_an_external_update_only_once_the_ic_confirms_them(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        _, ana, cy, bo = await board_room(hub.url, clock)
        for question, answer, detail in (
            ("who", "Card customers", ""),
            ("where", "eu-west-1", ""),
            ("customer_impact", "confirmed", "Payments fail at the last step"),
        ):
            reply = await bo.post(TriageAnswered(question=question, answer=answer, detail=detail))
            assert isinstance(reply, Ack), reply
        await cy.wait_for_seq(reply.seq)

        external = prefill(cy.state, Audience.EXTERNAL, clock()).fields
        assert external.affected == "Card payments in the EU"  # still the declared scope
        assert external.expect == "Checkout fails"
        internal = prefill(cy.state, Audience.INTERNAL, clock()).fields
        assert internal.affected == "Card customers in eu-west-1"
        assert internal.expect == "Payments fail at the last step"

        for question in ("who", "customer_impact"):
            reply = await ana.post(TriageConfirmed(question=question))
            assert isinstance(reply, Ack), reply
        await cy.wait_for_seq(reply.seq)
        external = prefill(cy.state, Audience.EXTERNAL, clock()).fields
        assert external.affected == "Card customers"  # "where" is not confirmed yet
        assert external.expect == "Payments fail at the last step"
        for c in (ana, cy, bo):
            await c.close()
