"""Every common action in three keys (plus its text), from a pane other than its own.

Each path is pressed as a person would, with no pauses, from the Timeline pane (the home of none
of these actions), and its keys are counted: the free text typed into a field is not counted,
every other key is (a capital letter or ctrl+key counts as one). A path over the budget fails.
README's key table lists the same paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.console_helpers import console_session
from tests.helpers import T0, ManualClock
from warroom.console.screens.comms_preview import UpdatePreview
from warroom.console.screens.handoff import HandoffScreen
from warroom.core.board import BoardItemAdded, Column, column
from warroom.core.lifecycle import PhaseChanged
from warroom.core.phases import Phase
from warroom.core.roles import Role

#: The most keys (beyond the free text) any listed action may take on its shortest path.
BUDGET = 3


@dataclass
class Path:
    """Keys pressed for one action; text typed into a field is free."""

    pilot: object
    keys: list[str] = field(default_factory=list)

    async def key(self, *keys: str) -> None:
        self.keys.extend(keys)
        await self.pilot.press(*keys)  # type: ignore[attr-defined]

    async def text(self, text: str) -> None:
        await self.pilot.press(*text)  # type: ignore[attr-defined]

    def within_budget(self, action: str) -> None:
        assert len(self.keys) <= BUDGET, f"{action}: {len(self.keys)} keys {self.keys}"


async def from_timeline(s) -> Path:
    await s.pilot.press("1")
    await s.pilot.pause()
    assert s.app.screen.query_one("#panes").active == "timeline"
    return Path(s.pilot)


async def test_the_ics_common_actions_take_three_keys_each(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 40)) as s:
        bo = await s.peer("bo", "responder")
        state = lambda: s.app.client.state  # noqa: E731

        # add a fact: 2 a <text> enter
        path = await from_timeline(s)
        await path.key("2", "a")
        await path.text("error rate 23% on /pay")
        await path.key("enter")
        await s.wait_for(
            lambda: [c.text for c in column(state(), Column.FACTS)] == ["error rate 23% on /pay"]
        )
        path.within_budget("add a fact")

        # add a guess: 2 g <text> enter
        path = await from_timeline(s)
        await path.key("2", "g")
        await path.text("connection leak in v2.3.1")
        await path.key("enter")
        await s.wait_for(
            lambda: (
                [c.text for c in column(state(), Column.GUESSES)] == ["connection leak in v2.3.1"]
            )
        )
        path.within_budget("add a guess")
        guess = column(state(), Column.GUESSES)[0].no

        # claim a guess: 2 l c
        path = await from_timeline(s)
        await path.key("2", "l", "c")
        await s.wait_for(lambda: state().board[guess].owner == "ana")
        path.within_budget("claim a guess")

        # confirm a guess: 2 f enter (f opens on the highlighted open guess from any column)
        path = await from_timeline(s)
        await path.key("2", "f", "enter")
        await s.wait_for(lambda: state().board[guess].is_fact)
        path.within_budget("confirm a guess")

        # record a decision: D <what> enter <why> ctrl+s
        path = await from_timeline(s)
        await path.key("D")
        await path.text("roll back to v2.3.0")
        await path.key("enter")
        await path.text("errors began with the deploy")
        await path.key("ctrl+s")
        await s.wait_for(lambda: len(state().decisions) == 1)
        path.within_budget("record a decision")

        # take the lock: 4 l
        path = await from_timeline(s)
        await path.key("4", "l")
        await s.wait_for(lambda: state().lock.holder == "ana")
        path.within_budget("take the lock")

        # publish a stakeholder update: I ctrl+s ctrl+s
        path = await from_timeline(s)
        await path.key("I")
        await s.wait_for(lambda: s.app.screen.__class__.__name__ == "UpdateForm")
        await path.key("ctrl+s")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdatePreview))
        await path.key("ctrl+s")
        await s.wait_for(lambda: len(state().comms.updates) == 1)
        path.within_budget("publish a stakeholder update")

        # change severity: V 1 <reason> enter (a digit picks the level)
        path = await from_timeline(s)
        await path.key("V", "1")
        await path.text("all regions now")
        await path.key("enter")
        await s.wait_for(lambda: state().severity == "SEV1")
        path.within_budget("change severity")

        # move phase: P 3 enter (a digit picks the phase; forward needs no reason)
        path = await from_timeline(s)
        await path.key("P", "3")
        await path.key("enter")
        await s.wait_for(lambda: state().phase == Phase.MITIGATING)
        path.within_budget("move phase")

        # hand off IC: 6 h <name> ctrl+s (the first letters of a name pick it)
        path = await from_timeline(s)
        await path.key("6", "h")
        await s.wait_for(lambda: isinstance(s.app.screen, HandoffScreen))
        await path.text("bo")
        await path.key("ctrl+s")
        await s.wait_for(lambda: any(o.incoming == "bo" for o in state().offers.values()))
        path.within_budget("hand off IC")
        assert state().holder(Role.IC) == "ana"  # until bo accepts
        await bo.close()


async def test_declaring_with_a_chosen_severity_takes_three_keys_from_a_console(tmp_path):
    # The console's clock agrees with the hub's, so "detected now" is not in the hub's future.
    clock = ManualClock(T0)
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 40), clock=clock) as s:
        path = await from_timeline(s)
        await path.key("ctrl+l", "1")
        await s.wait_for(lambda: s.app.screen.__class__.__name__ == "DeclareScreen")
        await path.text("Ledger writes failing")
        await path.key("ctrl+s")
        await s.wait_for(
            lambda: (
                s.app.client is not None and s.app.client.state.title == "Ledger writes failing"
            ),
            timeout=10,
        )
        assert s.app.client.state.severity == "SEV1"
        path.within_budget("declare with a chosen severity")


async def test_capital_keys_reach_the_forms_from_every_pane(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 40)) as s:
        for pane in "1234567":
            await s.pilot.press(pane, "V")
            await s.wait_for(lambda: s.app.screen.__class__.__name__ == "SeverityForm")
            await s.pilot.press("escape")
            await s.pilot.pause()
            assert s.app.screen.query_one("#panes").active == "summary"


# --- the palette: every action, from any pane ------------------------------------------------------
async def test_the_palette_finds_the_ics_actions_of_every_pane_from_decisions(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 40)) as s:
        await s.peer("bo", "responder")
        await s.pilot.press("3")
        titles = [c.title for c in s.app.get_system_commands(s.app.screen)]
        for wanted in (
            "Summary: Move the incident to another phase (IC)",
            "Summary: Change the severity, with the rubric (IC)",
            "Lock: IC: give the lock to a named participant",
            "Roster: Offer the selected role you hold to someone, with a briefing",
            "Board: Add a guess to check",
            "Comms: Write an update for customers: confirmed facts only",
            "Lock: Ask for the production lock; join the queue if it is held",
        ):
            assert wanted in titles, wanted
        await s.palette("phase", "Move the incident to another phase")
        await s.wait_for(lambda: s.app.screen.__class__.__name__ == "PhaseForm")
        await s.pilot.press("escape")
        await s.pilot.press("3")
        await s.palette("sev", "Change the severity")
        await s.wait_for(lambda: s.app.screen.__class__.__name__ == "SeverityForm")
        await s.pilot.press("escape")
        await s.pilot.pause()
        assert s.app.screen.query_one("#panes").active == "summary"  # it switched pane


async def test_the_palette_offers_a_responder_no_ic_actions(tmp_path):
    async with console_session(tmp_path, name="rita", role="responder") as s:
        titles = [c.title for c in s.app.get_system_commands(s.app.screen)]
        assert "Board: Add a guess to check" in titles
        assert not [t for t in titles if "(IC)" in t or t.startswith("Lock: IC")]


# --- no silent no-ops ----------------------------------------------------------------------------
def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_greyed_key_says_why_and_what_to_do(tmp_path):
    async with console_session(tmp_path, name="rita", role="responder", size=(120, 40)) as s:
        # a on the Lock pane without the lock
        await s.pilot.press("4", "a")
        await s.wait_for(
            lambda: any("You need the lock first: press l" in t for t in toasts(s.app))
        )
        assert s.app.screen.__class__.__name__ == "ConsoleScreen"

        # c (claim IC) while the IC is online
        ana = await s.peer("ana", "ic")
        await s.wait_for(lambda: s.app.client.state.participants["ana"].online)
        await s.pilot.press("6", "c")
        await s.wait_for(
            lambda: any("ana is the incident commander and is online" in t for t in toasts(s.app))
        )
        assert s.app.client.state.ic == "ana"

        # a on the board of a closed incident
        for phase, extra in (("resolved", {"resolution": "rolled back"}), ("closed", {})):
            ack = await ana.post(PhaseChanged(phase=phase, previous=None, **extra))
            assert ack.op == "ack", ack
        await s.wait_for(lambda: s.app.client.state.phase == Phase.CLOSED)
        await s.pilot.press("2", "a")
        await s.wait_for(lambda: any("This incident is closed" in t for t in toasts(s.app)))
        assert s.app.screen.__class__.__name__ == "ConsoleScreen"
        # a capital key says why too, rather than opening a form the hub would refuse
        await s.pilot.press("G")
        await s.pilot.pause()
        assert s.app.screen.__class__.__name__ == "ConsoleScreen"


async def test_the_ic_is_told_how_to_reopen_a_closed_incident(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 40)) as s:
        for phase, extra in (("resolved", {"resolution": "rolled back"}), ("closed", {})):
            await s.app.send_command(PhaseChanged, phase=phase, previous=None, **extra)
        await s.wait_for(lambda: s.app.client.state.phase == Phase.CLOSED)
        await s.pilot.press("2", "a")
        await s.wait_for(lambda: any("press P" in t for t in toasts(s.app)))


async def test_the_longer_paths_a_guess_with_evidence_and_a_decision_with_a_fact_and_owner(
    tmp_path,
):
    """Not in the budget, but counted: what README says these take."""
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 40)) as s:
        await s.peer("bo", "responder")
        state = lambda: s.app.client.state  # noqa: E731
        path = await from_timeline(s)
        await path.key("G")
        await path.text("pool exhausted")
        await path.key("tab", "tab")
        await path.text("select count(*) from pg_stat_activity")
        await path.key("enter")
        await s.wait_for(lambda: len(state().board) == 1)
        [card] = state().board.values()
        assert card.text == "pool exhausted" and card.evidence[0].text.startswith("select")
        assert len(path.keys) == 4

        await s.app.send_command(BoardItemAdded, kind="fact", text="pool at 200/200")
        await s.wait_for(lambda: len(state().board) == 2)
        fact = next(c.no for c in state().board.values() if c.is_fact)
        path = await from_timeline(s)
        await path.key("D")
        await path.text("raise the pool to 400")
        await path.key("enter")
        await path.text("buys time while the leak is found")
        await path.key("enter", "enter", "space", "tab")
        await path.text("bo")
        await path.key("ctrl+s")
        await s.wait_for(lambda: len(state().decisions) == 1)
        [decision] = state().decisions.values()
        assert list(decision.facts) == [fact] and decision.owner == "bo"
        assert len(path.keys) == 7
