"""The guard against open guesses in external updates: every field, and paraphrases too.

The hub refuses an external update that quotes an open guess in its text or in any of its
fields (a JSON webhook posts the fields as they are). A sentence that closely resembles an open
guess is found by a pure core function; the console flags it and asks for a second key, and the
choice is on the timeline.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.board_room import act, room
from tests.helpers import T0, client, declare_incident, running_hub
from tests.test_comms_publish import publish_args
from warroom.core.board import BoardItemAdded
from warroom.core.clock import ManualClock
from warroom.core.comms import UpdatePublished
from warroom.core.comms_state import Audience
from warroom.core.protocol import Ack, Error
from warroom.core.update_text import (
    prefill,
    render,
    resembling_guesses,
    sentences,
    shared_words,
    significant_words,
)

GUESS = "Retry storm from mobile app 5.2"
FACT = "error rate on /pay is 23% since 13:55"


# --- the pure function ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sentence",
    [
        "We suspect a retry storm from mobile app version 5.2.",
        "Retries from the mobile app (5.2) look like a storm",
        "MOBILE APP 5.2 RETRY STORM",
        "A retry storm from our mobile app is likely",
    ],
)
def test_a_paraphrase_of_a_guess_resembles_it(sentence):
    assert shared_words(sentence, GUESS)


@pytest.mark.parametrize(
    "sentence",
    [
        "Checkout errors are elevated for some users.",
        "We restarted the mobile gateway.",
        "Storm warning for the east coast data center",
        "Version 5.2 of the web app is not affected.",
        "",
    ],
)
def test_sentences_that_only_share_a_word_or_two_do_not(sentence):
    assert not shared_words(sentence, GUESS)


def test_significant_words_keep_versions_and_drop_filler():
    assert significant_words("We suspect a retry storm from mobile app version 5.2.") == {
        "retry",
        "storm",
        "mobile",
        "app",
        "5.2",
    }
    assert significant_words("Retries on db-primary after v2.3.1") == {
        "retry",
        "db-primary",
        "v2.3.1",
    }


def test_a_guess_of_one_word_never_matches():
    assert not shared_words("the database is down", "database")


def test_sentences_split_on_stops_lines_and_lists_but_not_times_or_versions():
    text = "Status: Investigating\nWhat we know: a; b. Next update by 09:30 UTC in app 5.2."
    assert sentences(text) == [
        "Status:",
        "Investigating",
        "What we know:",
        "a;",
        "b.",
        "Next update by 09:30 UTC in app 5.2.",
    ]


# --- against a live hub -------------------------------------------------------------------------
async def guess_room(hub_url: str, clock: ManualClock):
    incident = await declare_incident(hub_url, severity="SEV2", scope="Mobile checkout")
    ana = await client(hub_url, "ana", "ic", incident)
    cy = await client(hub_url, "cy", "comms", incident)
    assert isinstance(await ana.post(BoardItemAdded(kind="fact", text=FACT)), Ack)
    last = await ana.post(BoardItemAdded(kind="guess", text=GUESS))
    assert isinstance(last, Ack)
    await cy.wait_for_seq(last.seq)
    clock.advance(timedelta(minutes=3))
    return ana, cy


@pytest.mark.parametrize("field", ["affected", "not_affected", "expect", "doing"])
async def test_the_hub_refuses_a_guess_quoted_in_any_field_of_an_external_update(tmp_path, field):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        ana, cy = await guess_room(hub.url, clock)
        args = publish_args(cy.state, Audience.EXTERNAL, clock())
        # The text is clean; only the fields (which a JSON webhook posts) quote the guess.
        args["fields"] = dict(args["fields"], **{field: f"Cause: {GUESS.lower()}."})
        assert GUESS.casefold() not in args["text"].casefold()
        refused = await cy.post(UpdatePublished(**args))
        assert isinstance(refused, Error) and refused.code == "unconfirmed_in_external"
        assert GUESS in refused.message
        assert cy.state.comms.updates == []
        # For the room itself, the same fields are fine.
        internal = dict(args, audience="internal")
        assert isinstance(await cy.post(UpdatePublished(**internal)), Ack)
        await ana.close()
        await cy.close()


async def test_a_paraphrase_is_found_and_publishing_it_anyway_is_on_the_timeline(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        ana, cy = await guess_room(hub.url, clock)
        paraphrase = "We suspect a retry storm from mobile app version 5.2."
        args = publish_args(cy.state, Audience.EXTERNAL, clock(), doing=paraphrase)
        [found] = resembling_guesses(cy.state, args["text"])
        guess_no = next(no for no, item in cy.state.board.items() if item.text == GUESS)
        assert (found.sentence, found.guess_no, found.guess) == (paraphrase, guess_no, GUESS)
        # The prefilled external text (confirmed facts only) resembles nothing.
        clean = render(cy.state, prefill(cy.state, Audience.EXTERNAL, clock()), clock())
        assert resembling_guesses(cy.state, clean) == []

        ack = await cy.post(UpdatePublished(**args, despite_guesses=[guess_no]))
        assert isinstance(ack, Ack)
        await ana.wait_for_seq(ack.seq)
        stored = next(e for e in ana.log if e.id == ack.id)
        assert stored.despite_guesses == [guess_no]
        assert stored.describe().endswith(f"(published despite resembling open guess #{guess_no})")

        # A made-up card number is refused, and an exact quote stays refused, acknowledged or not.
        bogus = await cy.post(UpdatePublished(**args, despite_guesses=[999]))
        assert isinstance(bogus, Error) and bogus.code == "invalid"
        quoting = publish_args(cy.state, Audience.EXTERNAL, clock(), doing=f"{GUESS}.")
        refused = await cy.post(UpdatePublished(**quoting, despite_guesses=[guess_no]))
        assert isinstance(refused, Error) and refused.code == "unconfirmed_in_external"
        await ana.close()
        await cy.close()


def test_a_sentence_stating_a_confirmed_fact_is_not_flagged():
    state = room()
    state, _ = act(state, "bo", "board_item_added", kind="fact",
                   text="db pool exhausted on db-primary since 13:50")  # fmt: skip
    state, _ = act(state, "bo", "board_item_added", kind="guess",
                   text="db pool exhausted by the nightly batch on db-primary")  # fmt: skip
    assert resembling_guesses(state, "We know the db pool is exhausted on db-primary.") == []
    flagged = resembling_guesses(state, "The nightly batch exhausted the db pool.")
    assert [r.guess for r in flagged] == ["db pool exhausted by the nightly batch on db-primary"]
