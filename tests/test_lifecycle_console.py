"""The summary pane, the lifecycle forms and the escalation banner in real consoles on a real hub."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from textual.widgets import Button, Input, OptionList, Select, Static

from tests.console_helpers import (
    NOW,
    console_session,
    hub_in_thread,
    is_live,
    make_console,
    snap_console,
    until_live,
)
from tests.helpers import T0, ManualClock, eventually
from warroom.console.app import WarroomApp
from warroom.console.screens.lifecycle_forms import (
    ImpactStartForm,
    PhaseForm,
    SeverityForm,
    TriageForm,
)
from warroom.console.widgets.escalation import EscalationBanner
from warroom.console.widgets.summary import SummaryPane
from warroom.core.lifecycle import ImpactStartSet, PhaseChanged, TriageAnswered, TriageConfirmed
from warroom.core.lifecycle_state import EscalationStatus, TriageQuestion
from warroom.core.phases import Phase
from warroom.core.severity import RUBRIC, Severity

HOUR = timedelta(hours=1)


def text_of(widget) -> str:
    return str(widget.render())


async def on_summary(session) -> SummaryPane:
    return await session.show_pane("7", SummaryPane)


async def form_from_summary(session, key: str, kind: type):
    """The form of type ``kind`` that ``key`` opens from the summary pane, once it is open."""
    await on_summary(session)
    await session.pilot.press(key)
    await session.wait_for(lambda: isinstance(session.app.screen, kind))
    return session.app.screen


async def test_the_ic_changes_severity_from_the_rubric_with_a_reason(tmp_path):
    async with console_session(tmp_path, size=(110, 34)) as s:
        form = await form_from_summary(s, "v", SeverityForm)
        levels = form.query_one("#severity-levels", OptionList)
        shown = " ".join(str(levels.get_option_at_index(i).prompt) for i in range(4))
        assert all(RUBRIC[level] in shown for level in Severity)  # the rubric where it is chosen
        assert levels.highlighted == 1  # the current SEV2
        await s.pilot.press("ctrl+s")
        assert "already SEV2" in text_of(form.query_one("#form-error", Static))
        await s.pilot.press("up", "enter", *"all regions", "enter")
        await s.wait_for(lambda: s.app.client.state.severity == Severity.SEV1)
        assert s.app.client.state.severity_history[-1].reason == "all regions"
        await s.wait_for(lambda: not isinstance(s.app.screen, SeverityForm))


async def test_a_responder_is_not_offered_severity_or_phase_but_answers_triage(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder", size=(110, 34)) as s:
        pane = await on_summary(s)
        assert pane.check_action("severity", ()) is None
        assert pane.check_action("phase", ()) is None
        await s.pilot.press("v", "p")
        assert isinstance(s.app.screen.query_one(SummaryPane), SummaryPane)  # no form opened
        await s.pilot.press("t")
        await s.wait_for(lambda: isinstance(s.app.screen, TriageForm))
        assert s.app.screen.question == TriageQuestion.WHO
        s.app.screen.query_one("#answer", Input).value = "EU tenants on plan B"
        await s.pilot.press("enter")
        await s.wait_for(lambda: s.app.client.state.triage.who == "EU tenants on plan B")
        await s.wait_for(lambda: not isinstance(s.app.screen, TriageForm))
        assert pane.check_action("confirm", ()) is None  # only the IC confirms

        ana = await s.peer("ana", "ic")
        mark = s.app.client.state.triage_marks[TriageQuestion.WHO]
        await ana.post(TriageConfirmed(question="who", answer_seq=mark.seq))
        table = pane.query_one("#summary-triage")
        await s.wait_for(lambda: "✓ ana" in str(table.get_row("who")[3]))


async def test_impact_start_and_a_choice_answer_from_the_keyboard(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder", size=(110, 34)) as s:
        await form_from_summary(s, "i", ImpactStartForm)
        await s.pilot.press(*"08:40", "enter", *"first failed checkout", "enter")
        await s.wait_for(lambda: s.app.client.state.impact_started_at == T0 - timedelta(minutes=20))

        await s.wait_for(lambda: not isinstance(s.app.screen, ImpactStartForm))
        await s.pilot.press("down", "down", "down", "t")  # customer impact
        await s.wait_for(lambda: isinstance(s.app.screen, TriageForm))
        form = s.app.screen
        assert form.question == TriageQuestion.CUSTOMER_IMPACT
        form.query_one("#choice", Select).value = "confirmed"
        form.query_one("#detail", Input).value = "1 in 5 payments fail"
        await s.pilot.press("ctrl+s")
        await s.wait_for(
            lambda: s.app.client.state.triage.customer_impact_detail == "1 in 5 payments fail"
        )
        assert s.app.client.state.triage.customer_impact == "confirmed"
        metrics = s.app.screen.query_one("#summary-metrics", Static)
        await s.wait_for(lambda: "from impact start" in text_of(metrics))


async def test_the_phase_form_says_why_before_sending_and_moves_forward(tmp_path):
    async with console_session(tmp_path, size=(110, 34)) as s:
        form = await form_from_summary(s, "p", PhaseForm)
        targets = form.query_one("#phase-targets", OptionList)
        # It opens on the current phase (as the severity form does): one stray Enter moves nothing.
        assert targets.highlighted == Phase.DETECTED.index
        await s.pilot.press("ctrl+s")
        assert "already detected" in text_of(form.query_one("#form-error", Static))
        targets.highlighted = Phase.CLOSED.index
        await s.pilot.press("ctrl+s")
        assert "Close only a resolved incident" in text_of(form.query_one("#form-error", Static))
        assert s.app.client.state.phase == Phase.DETECTED
        targets.highlighted = Phase.TRIAGE.index
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: s.app.client.state.phase == Phase.TRIAGE)
        track = s.app.screen.query_one("#summary-phases", Static)
        await s.wait_for(lambda: " triage " in text_of(track))


async def test_the_banner_shows_in_every_console_and_the_ic_raises_severity(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder", size=(110, 34)) as s:
        ana_app = make_console(s.hub.url, name="ana", role="ic")
        async with ana_app.run_test(size=(110, 34)) as ana_pilot:
            await eventually(lambda: is_live(ana_app), timeout=10)
            banners = [app.screen.query_one(EscalationBanner) for app in (s.app, ana_app)]
            assert not any(b.display for b in banners)
            clock = s.hub.hub.clock
            clock.advance(4 * HOUR)
            await s.hub.hub.tick()
            for banner in banners:
                await s.wait_for(lambda banner=banner: banner.display)
            bo_banner, ana_banner = banners
            assert "Proposed: raise to SEV1" in text_of(bo_banner.query_one("#escalation-text"))
            assert not bo_banner.query_one("#escalation-accept", Button).display
            assert "Waiting for ana" in text_of(bo_banner.query_one("#escalation-who"))

            await ana_pilot.pause()
            accept = ana_banner.query_one("#escalation-accept", Button)
            assert accept.display and str(accept.label) == "Raise to SEV1"
            await ana_pilot.click(accept)
            await s.wait_for(lambda: s.app.client.state.severity == Severity.SEV1)
            assert s.app.client.state.escalations[-1].status == EscalationStatus.ACCEPTED
            for banner in banners:
                await s.wait_for(lambda banner=banner: not banner.display)


async def test_the_ic_dismisses_from_the_summary_pane_with_a_reason(tmp_path):
    async with console_session(tmp_path, size=(110, 34)) as s:
        pane = await on_summary(s)
        assert pane.check_action("dismiss_escalation", ()) is None
        s.hub.hub.clock.advance(4 * HOUR)
        await s.hub.hub.tick()
        await s.wait_for(lambda: bool(s.app.client.state.escalations))
        await s.wait_for(lambda: pane.check_action("dismiss_escalation", ()) is True)
        await s.pilot.press("x")
        await s.wait_for(lambda: s.app.screen.query("#reason"))
        await s.pilot.press(*"rollback nearly done", "enter")
        await s.wait_for(
            lambda: s.app.client.state.escalations[-1].status == EscalationStatus.DISMISSED
        )
        assert s.app.client.state.escalations[-1].reason == "rollback nearly done"
        assert s.app.client.state.severity == Severity.SEV2


# --- snapshots --------------------------------------------------------------------------------
def _answered(hub) -> None:
    hub.post(
        "bo",
        "responder",
        ImpactStartSet(
            started_at=(T0 - timedelta(minutes=20)).isoformat(),
            note="first failed checkout in the logs",
        ),
    )
    hub.post("bo", "responder", TriageAnswered(question="who", answer="EU tenants"))
    hub.post(
        "bo",
        "responder",
        TriageAnswered(
            question="customer_impact", answer="confirmed", detail="1 in 5 payments fail"
        ),
    )
    hub.post("bo", "responder", TriageAnswered(question="trend", answer="stable"))
    hub.post("ana", "ic", TriageConfirmed(question="who"))
    hub.post("ana", "ic", PhaseChanged(phase="triage"))


def test_snapshot_the_summary_pane(snap_compare, tmp_path):
    ana = {"name": "ana", "role": "ic"}
    assert snap_console(snap_compare, tmp_path, _answered, **ana, press=["7"], size=(110, 34))


@contextlib.contextmanager
def past_the_time_to_mitigate(tmp_path, name: str, role: str) -> Iterator[WarroomApp]:
    """``name``'s console four hours into the SEV2, past its expected time to mitigate: the hub
    has proposed an escalation (the console's clock is as far on)."""
    clock = ManualClock(T0)
    with hub_in_thread(tmp_path, clock=clock) as hub:
        hub.seed()
        clock.advance(4 * HOUR)
        hub.call(hub.server.hub.tick())
        yield make_console(hub.url, name=name, role=role, clock=ManualClock(NOW + 4 * HOUR))


def test_snapshot_the_escalation_banner_for_a_responder(snap_compare, tmp_path):
    with past_the_time_to_mitigate(tmp_path, "bo", "responder") as app:
        # A late joiner first gets the read-in; closing it shows the banner above the board.
        assert snap_compare(
            app, press=["escape", "2"], terminal_size=(110, 34), run_before=until_live
        )


def test_snapshot_the_escalation_banner_and_summary_for_the_ic(snap_compare, tmp_path):
    with past_the_time_to_mitigate(tmp_path, "ana", "ic") as app:
        assert snap_compare(app, press=["7"], terminal_size=(110, 34), run_before=until_live)


def test_snapshot_the_severity_form_shows_the_rubric(snap_compare, tmp_path):
    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        app = make_console(hub.url, name="ana", role="ic")

        async def open_form(pilot) -> None:
            await until_live(pilot)
            await pilot.press("7")
            await pilot.pause()
            await pilot.press("v")
            await eventually(lambda: isinstance(pilot.app.screen, SeverityForm))
            await pilot.press("up")
            await pilot.pause()

        assert snap_compare(app, terminal_size=(110, 34), run_before=open_form)
