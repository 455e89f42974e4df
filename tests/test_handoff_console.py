"""The handoff screen, the roster's role keys and the read-in, driven by keys against a real hub."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from textual.widgets import Button, Select, Static, TextArea

from tests.console_helpers import is_live
from tests.helpers import client, declared, eventually
from tests.test_console_forms import burst
from warroom.console.app import WarroomApp
from warroom.console.screens.handoff import HandoffScreen
from warroom.console.screens.read_in import ReadInScreen
from warroom.console.screens.role_assign import RoleAssignForm
from warroom.console.widgets.briefing import BriefingView
from warroom.console.widgets.roster import RosterPane
from warroom.core.board import BoardItemAdded
from warroom.core.briefing import build_briefing
from warroom.core.clock import ManualClock
from warroom.core.handoff import HandoffOffered
from warroom.core.roles import Role


@contextlib.asynccontextmanager
async def console(hub, name: str, role: str, incident: str, clock: ManualClock) -> AsyncIterator:
    app = WarroomApp(hub.url, name, role, incident=incident, clock=clock, blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await eventually(lambda: is_live(app) and name in app.client.state.participants)
        await pilot.pause()
        yield app, pilot


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def until(pilot, predicate, timeout: float = 5.0) -> None:
    await eventually(predicate, timeout=timeout)
    await pilot.pause()


@contextlib.asynccontextmanager
async def ana_opens_the_handoff_with_bo_online(tmp_path) -> AsyncIterator:
    """ana (IC) and bo (responder) in two consoles on a real hub; ana has opened the handoff
    screen from the roster once bo is online. Yields both apps and their pilots."""
    async with (
        declared(tmp_path) as (hub, incident, clock),
        console(hub, "ana", "ic", incident, clock) as (ana, ana_pilot),
        console(hub, "bo", "responder", incident, clock) as (bo, bo_pilot),
    ):
        await until(ana_pilot, lambda: "bo" in ana.client.state.online)
        await ana_pilot.press("6", "h")
        yield ana, ana_pilot, bo, bo_pilot


async def test_two_consoles_offer_and_accept_the_ic_role(tmp_path):
    async with ana_opens_the_handoff_with_bo_online(tmp_path) as (ana, ana_pilot, bo, bo_pilot):
        screen = ana.screen
        assert isinstance(screen, HandoffScreen) and not screen.is_incoming
        assert screen.query_one(BriefingView).briefing == build_briefing(ana.client.state)
        screen.query_one("#handoff-to", Select).value = "bo"
        screen.query_one("#handoff-notes", TextArea).text = "Next: roll back pricing"
        await ana_pilot.press("ctrl+s")
        await until(ana_pilot, lambda: Role.IC in ana.client.state.offers)
        assert "You stay incident commander until bo accepts" in text_of(screen, "#handoff-status")

        # bo's console opens the same briefing by itself.
        await until(bo_pilot, lambda: isinstance(bo.screen, HandoffScreen))
        incoming = bo.screen
        assert incoming.is_incoming
        assert incoming.query_one(BriefingView).briefing == screen.query_one(BriefingView).briefing
        assert text_of(incoming, "#handoff-notes-view") == "Next: roll back pricing"
        assert bo.client.state.ic == "ana"

        await bo_pilot.press("a")
        await until(bo_pilot, lambda: bo.client.state.ic == "bo")
        await until(ana_pilot, lambda: ana.client.state.ic == "bo")
        await until(bo_pilot, lambda: not isinstance(bo.screen, HandoffScreen))
        await until(ana_pilot, lambda: not isinstance(ana.screen, HandoffScreen))
        assert ana.client.state.offers == {}


async def test_a_declined_offer_says_so_on_the_outgoing_screen(tmp_path):
    async with ana_opens_the_handoff_with_bo_online(tmp_path) as (ana, ana_pilot, bo, bo_pilot):
        screen = ana.screen
        screen.query_one("#handoff-to", Select).value = "bo"
        await ana_pilot.press("ctrl+s")
        await until(bo_pilot, lambda: isinstance(bo.screen, HandoffScreen))
        await bo_pilot.press("d")
        await until(bo_pilot, lambda: not isinstance(bo.screen, HandoffScreen))
        await until(ana_pilot, lambda: "declined" in text_of(screen, "#handoff-status"))
        assert ana.screen is screen and ana.client.state.ic == "ana"
        # The offer can be made again at once.
        assert screen.check_action("offer", ()) is True


async def test_withdraw_from_the_screen_and_the_incoming_screen_closes(tmp_path):
    async with declared(tmp_path) as (hub, incident, clock):
        bo_client = await client(hub.url, "bo", "responder", incident)
        async with console(hub, "ana", "ic", incident, clock) as (ana, pilot):
            await until(pilot, lambda: "bo" in ana.client.state.online)
            await pilot.press("6", "h")
            screen = ana.screen
            screen.query_one("#handoff-to", Select).value = "bo"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: screen.check_action("withdraw", ()) is True)
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "withdrew" in text_of(screen, "#handoff-status"))
            await eventually(lambda: bo_client.state.offers == {})
        await bo_client.close()


async def test_an_offer_that_lapses_closes_the_incoming_screen(tmp_path):
    async with declared(tmp_path) as (hub, incident, clock):
        ana = await client(hub.url, "ana", "ic", incident)
        async with console(hub, "bo", "responder", incident, clock) as (bo, pilot):
            await ana.post(HandoffOffered( offered_role="ic", to="bo",
                           briefing=build_briefing(ana.state).model_dump(mode="json")))  # fmt: skip
            await until(pilot, lambda: isinstance(bo.screen, HandoffScreen))
            await ana.close()
            clock.advance(timedelta(minutes=5))
            await hub.hub.tick()
            await until(pilot, lambda: not isinstance(bo.screen, HandoffScreen))
            assert bo.client.state.ic == "ana"
            assert any("lapsed" in n.message for n in bo._notifications)


async def test_claim_ic_from_the_roster_when_the_ic_is_offline(tmp_path):
    async with (
        declared(tmp_path) as (hub, incident, clock),  # ana declared and left
        console(hub, "bo", "responder", incident, clock) as (bo, pilot),
    ):
        await pilot.press("6")
        roster = bo.screen.query_one(RosterPane)
        assert roster.check_action("claim_ic", ()) is True
        await pilot.press("c")
        await until(pilot, lambda: bo.client.state.ic == "bo")
        assert bo.client.log[-1].type == "ic_claimed"
        assert roster.check_action("claim_ic", ()) is None


async def test_the_ic_assigns_a_role_from_the_roster_and_it_shows_as_a_second_role(tmp_path):
    async with (
        declared(tmp_path) as (hub, incident, clock),
        console(hub, "ana", "ic", incident, clock) as (ana, pilot),
    ):
        await pilot.press("6", "down", "down", "down")  # the scribe row
        roster = ana.screen.query_one(RosterPane)
        assert roster.selected_role == Role.SCRIBE
        await pilot.press("a")
        form = ana.screen
        assert isinstance(form, RoleAssignForm)
        form.query_one("#assign-to", Select).value = "ana"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: ana.client.state.holder(Role.SCRIBE) == "ana")
        await until(pilot, lambda: not isinstance(ana.screen, RoleAssignForm))
        table = roster.query_one("#roster-roles")
        assert "also scribe" in str(table.get_row("ic")[3])
        assert "IC + scribe" in str(roster.query_one("#roster-people").get_row("ana")[3])


async def test_a_late_joiner_is_read_in_and_a_long_serving_ic_is_nudged(tmp_path):
    async with declared(tmp_path) as (hub, incident, clock):
        ana = await client(hub.url, "ana", "ic", incident)
        await ana.post(BoardItemAdded(kind="fact", text="Only EU cards fail"))
        clock.advance(timedelta(minutes=20))
        async with console(hub, "cy", "responder", incident, clock) as (cy, pilot):
            await until(pilot, lambda: isinstance(cy.screen, ReadInScreen))
            view = cy.screen.query_one(BriefingView)
            assert view.briefing is not None and view.briefing.facts[0].text == "Only EU cards fail"
            await pilot.press("enter")
            await until(pilot, lambda: not isinstance(cy.screen, ReadInScreen))
        await ana.close()

        clock.advance(timedelta(hours=3))
        async with console(hub, "ana", "ic", incident, clock) as (again, pilot):
            assert not isinstance(again.screen, ReadInScreen)  # not a newcomer
            await hub.hub.tick()
            await until(pilot, lambda: any(n.title == "Rotation due"
                                           for n in again._notifications))  # fmt: skip
            await pilot.press("6")
            table = again.screen.query_one(RosterPane).query_one("#roster-roles")
            assert "rotation due" in str(table.get_row("ic")[3])


async def test_the_buttons_do_what_their_keys_do(tmp_path):
    """One handler serves every button (each is named after its action): a mouse user offers
    with the Offer button and the incoming side declines with the Decline button (pressed as a
    click would press them)."""
    async with ana_opens_the_handoff_with_bo_online(tmp_path) as (ana, ana_pilot, bo, bo_pilot):
        screen = ana.screen
        screen.query_one("#handoff-to", Select).value = "bo"
        screen.query_one("#offer", Button).press()
        await until(bo_pilot, lambda: isinstance(bo.screen, HandoffScreen))
        bo.screen.query_one("#decline", Button).press()
        await until(bo_pilot, lambda: not isinstance(bo.screen, HandoffScreen))
        await until(ana_pilot, lambda: "declined" in text_of(screen, "#handoff-status"))
        assert ana.client.state.ic == "ana"


async def test_the_offer_is_made_from_the_keyboard_as_a_responder_types_it(tmp_path):
    """The README's walk-through, keys only: ``b`` picks bo, Tab goes to the notes, the notes are
    typed, ctrl+s offers. Seen in tmux: Tab stayed in the picker, the notes' letters picked
    names from it (the ``c`` of "watch" picked cy) and the offer went to cy with no notes."""
    async with ana_opens_the_handoff_with_bo_online(tmp_path) as (ana, ana_pilot, bo, bo_pilot):
        screen = ana.screen
        assert isinstance(screen, HandoffScreen)
        await burst(ana_pilot, "b", "tab", *"Next: watch 5xx", "ctrl+s")
        await until(ana_pilot, lambda: Role.IC in ana.client.state.offers)
        offer = ana.client.state.offers[Role.IC]
        assert (offer.incoming, offer.notes) == ("bo", "Next: watch 5xx")
