"""The decision pane in a real console on a real hub: decide, supersede, status, follow-ups."""

from __future__ import annotations

from textual.widgets import Input, SelectionList, Static, TextArea

from tests.console_helpers import NOW, console_session
from warroom.console.screens.decision_follow_up import FollowUpForm
from warroom.console.screens.decision_record import DecisionForm
from warroom.console.screens.decision_status import StatusUpdateForm
from warroom.console.widgets.decisions import DecisionPane
from warroom.core.board import BoardItemAdded, FactRetracted


async def open_log(session) -> DecisionPane:
    return await session.show_pane("3", DecisionPane)


async def form_from_log(session, key: str):
    """The form ``key`` opens from the decision log."""
    await open_log(session)
    await session.pilot.press(key)
    return session.app.screen


def stored(session, type_: str) -> list:
    return [e for e in session.hub.store.events(session.incident) if e.type == type_]


async def two_facts(session) -> tuple[int, int, int]:
    """Two confirmed facts and one open guess, put on the board by bo."""
    bo = await session.peer("bo", "lead")
    errors = await bo.post(BoardItemAdded(kind="fact", text="5xx at 23% on /pay"))
    leak = await bo.post(BoardItemAdded(kind="fact", text="connection leak in v2.3.1"))
    guess = await bo.post(BoardItemAdded(kind="guess", text="dns flapping"))
    await session.wait_for(lambda: guess.seq in session.app.client.state.board)
    return errors.seq, leak.seq, guess.seq


async def test_the_ic_records_a_decision_citing_two_facts_then_supersedes_it(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic") as s:
        errors, leak, guess = await two_facts(s)
        pane = await open_log(s)
        await s.pilot.press("d")
        form = s.app.screen
        assert isinstance(form, DecisionForm)
        facts = form.query_one("#facts", SelectionList)
        assert facts.option_count == 2, "only confirmed facts are offered, not the guess"
        await s.pilot.press(
            *"Roll back", "enter", *"leak came with v2.3.1", "enter", *"roll back; hotfix", "enter"
        )
        assert isinstance(s.app.screen, DecisionForm), "enter moves on in this form"
        await s.pilot.press("space", "down", "space")  # both facts
        form.query_one("#owner").value = "bo"
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: 1 in pane.state.decisions)
        [first] = stored(s, "decision_recorded")
        assert (first.what, first.why, first.options) == (
            "Roll back",
            "leak came with v2.3.1",
            ["roll back", "hotfix"],
        )
        assert first.facts == [errors, leak] and first.owner == "bo"
        assert "Roll back" in str(pane.query_one("#decision-detail", Static).render())

        await s.pilot.press("s")
        form = s.app.screen
        assert isinstance(form, DecisionForm) and form.replaces is not None
        what = form.query_one("#what", Input)
        assert what.value == "Roll back" and form.query_one("#facts", SelectionList).selected == [
            errors,
            leak,
        ]
        what.value = "Hotfix forward"
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: 2 in pane.state.decisions)
        later = stored(s, "decision_recorded")[-1]
        assert later.supersedes == 1 and later.what == "Hotfix forward"
        assert pane.state.decisions[1].superseded_by == 2
        await s.pilot.press("k")  # D1, superseded: cannot be superseded again
        assert pane.decision.no == 1 and pane.check_action("supersede", ()) is None


async def test_a_decision_citing_a_fact_retracted_meanwhile_is_refused_in_the_form(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic") as s:
        errors, leak, _ = await two_facts(s)
        form = await form_from_log(s, "d")
        form.query_one("#what", Input).value = "Roll back"
        form.query_one("#why", Input).value = "the leak"
        form.query_one("#facts", SelectionList).select(leak)
        bo = s._peers[0]
        await bo.post(FactRetracted(item=leak, reason="the leak was in staging"))
        await s.wait_for(lambda: s.app.client.state.board[leak].status == "retracted")
        await s.pilot.press("ctrl+s")
        error = form.query_one("#form-error", Static)
        await s.wait_for(lambda: "refused" in str(error.render()))
        assert f"#{leak} is not a confirmed fact" in str(error.render())
        assert s.app.screen is form and stored(s, "decision_recorded") == []


async def test_the_status_update_is_drafted_edited_and_posted_as_a_status_note(tmp_path):
    async with console_session(tmp_path, name="ana", role="ic") as s:
        _, _, guess = await two_facts(s)
        form = await form_from_log(s, "u")
        assert isinstance(form, StatusUpdateForm)
        area = form.query_one(TextArea)
        assert area.text.startswith(f"[{NOW:%H:%M} UTC] Status update — SEV2")
        assert f"Leading hypothesis: #{guess} dns flapping." in area.text
        area.text = area.text.replace("Next update", "Rolling back now. Next update")
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: len(stored(s, "note_added")) == 1)
        [note] = stored(s, "note_added")
        assert note.kind == "status" and note.actor == "ana"
        assert "Rolling back now. Next update" in note.text
        assert note.describe().startswith("Status: [")


async def test_anyone_notes_a_follow_up_but_only_the_ic_decides(tmp_path):
    async with console_session(tmp_path, name="cy", role="responder") as s:
        pane = await open_log(s)
        assert pane.check_action("decide", ()) is None
        assert pane.check_action("status_update", ()) is None
        await s.pilot.press("d", "u")
        assert not isinstance(s.app.screen, DecisionForm | StatusUpdateForm)
        await s.pilot.press("a")
        form = s.app.screen
        assert isinstance(form, FollowUpForm)
        due = form.query_one("#due", Input)
        assert due.value == "2026-03-21"  # a week after the console's clock
        await s.pilot.press(*"Alert on pool saturation", "enter", *"team db", "enter")
        due.value = "2026-03-01"
        await s.pilot.press("enter")
        error = form.query_one("#form-error", Static)
        await s.wait_for(lambda: "already passed" in str(error.render()))
        due.value = "2026-03-20"
        await s.pilot.press("enter")
        await s.wait_for(lambda: 1 in pane.state.follow_ups)
        item = pane.state.follow_ups[1]
        assert (item.text, item.owner, item.due.isoformat(), item.noted_by) == (
            "Alert on pool saturation",
            "team db",
            "2026-03-20",
            "cy",
        )
