"""The comms pane, the update template and its preview, in a real console on a real hub."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from textual.widgets import Input, Static, TextArea
from warroom.hub.webhooks import TargetKind, WebhookTarget

from tests.console_helpers import (
    INCIDENT,
    NOW,
    console_session,
    hub_in_thread,
    make_console,
    screen_text,
    snap_console,
    until_live,
)
from tests.helpers import T0, ManualClock, running_hub
from tests.test_comms_webhooks import fast_policy, webhook
from warroom.console.screens.comms_form import UpdateForm
from warroom.console.screens.comms_preview import UpdatePreview
from warroom.core.board import BoardItemAdded
from warroom.core.protocol import Ack

FACT = "error rate on /pay is 23% since 08:52"
GUESS = "connection leak in the v2.3.1 payment client"


async def put_on_board(session) -> None:
    bo = await session.peer("bo", "responder")
    assert isinstance(await bo.post(BoardItemAdded(kind="fact", text=FACT)), Ack)
    last = await bo.post(BoardItemAdded(kind="guess", text=GUESS))
    assert isinstance(last, Ack)
    await session.wait_for(lambda: session.app.client.state.seq >= last.seq)


def toasts(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def test_the_comms_lead_publishes_exactly_the_previewed_text(tmp_path):
    async with console_session(tmp_path, name="cy", role="comms", size=(100, 36)) as s:
        await put_on_board(s)
        await s.pilot.press("e")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdateForm))
        form = s.app.screen
        assert form.query_one("#f-affected", Input).value == INCIDENT["scope"]
        assert form.query_one("#f-expect", Input).value == INCIDENT["symptoms"]
        doing = form.query_one("#f-doing", TextArea).text
        assert FACT in doing and GUESS not in doing
        assert form.query_one("#f-next", Input).value == "30"
        form.query_one("#f-resolution", Input).value = "1-2h"

        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdatePreview))
        shown = str(s.app.screen.query_one("#preview-text", Static).render())
        assert "Expected resolution: Between 1 hour and 2 hours." in shown

        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: bool(s.app.client.state.comms.updates))
        await s.wait_for(lambda: not isinstance(s.app.screen, UpdateForm | UpdatePreview))
        [update] = s.app.client.state.comms.updates
        assert update.text == shown  # what was previewed is what was published
        assert update.author == "cy" and update.audience == "external"
        assert update.fields.resolution.low_minutes == 60
        pane_text = str(s.app.screen.query_one("#comms-text", Static).render())
        assert update.text in pane_text


async def test_a_refused_update_stays_in_the_preview_with_the_reason(tmp_path):
    async with console_session(tmp_path, name="cy", role="comms", size=(100, 36)) as s:
        await put_on_board(s)
        await s.pilot.press("e")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdateForm))
        s.app.screen.query_one("#f-doing", TextArea).text = f"We found a {GUESS}."
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdatePreview))
        await s.pilot.press("ctrl+s")
        error = s.app.screen.query_one("#form-error", Static)
        await s.wait_for(lambda: "open guess" in str(error.render()))
        assert isinstance(s.app.screen, UpdatePreview)
        assert s.app.client.state.comms.updates == []
        await s.pilot.press("escape")  # back to the template, text still there to fix
        await s.wait_for(lambda: isinstance(s.app.screen, UpdateForm))
        assert GUESS in s.app.screen.query_one("#f-doing", TextArea).text


async def test_a_responder_cannot_open_the_template(tmp_path):
    async with console_session(tmp_path, name="bo", role="responder") as s:
        await s.pilot.press("5")
        await s.pilot.press("e")
        await s.pilot.pause()
        assert not isinstance(s.app.screen, UpdateForm)
        pane = s.app.screen.query_one("#pane-comms")
        assert "Updates are published by ana (IC)." in str(pane.query_one("#comms-who").render())


async def test_an_overdue_update_notifies_the_comms_lead_and_the_ic_only(tmp_path):
    async with console_session(tmp_path, name="cy", role="comms") as s:
        ana_console = make_console(s.hub.url, name="ana", role="ic")
        bo_console = make_console(s.hub.url, name="bo", role="responder")
        async with (
            ana_console.run_test(size=(100, 30)) as ana_pilot,
            bo_console.run_test(size=(100, 30)) as bo_pilot,
        ):
            for pilot in (ana_pilot, bo_pilot):
                await until_live(pilot)
            clock = s.hub.hub.clock
            assert isinstance(clock, ManualClock)
            clock.advance(timedelta(minutes=10))
            assert await s.hub.hub.tick() == 1
            head = s.hub.hub.rooms[s.incident].head
            for app in (s.app, ana_console, bo_console):
                await s.wait_for(lambda app=app: app.client.state.seq >= head)
            await s.pilot.pause()
            await ana_pilot.pause()
            await bo_pilot.pause()
            for app in (s.app, ana_console):
                assert any(t.startswith("Update overdue:") for t in toasts(app)), toasts(app)
            assert not any(t.startswith("Update overdue:") for t in toasts(bo_console))
            # Once per episode: a later change does not announce it again.
            await s.pilot.press("5")
            assert sum(t.startswith("Update overdue:") for t in toasts(s.app)) == 1


async def test_deliveries_show_in_the_pane_and_a_failed_one_is_retried_with_r(tmp_path):
    async with webhook(hang=True) as endpoint:
        status = WebhookTarget(
            name="status-slack", kind=TargetKind.SLACK, url=endpoint.url, timeout=2.0
        )
        hub_running = running_hub(
            tmp_path / "hub.db",
            clock=ManualClock(T0),
            webhooks=[status],
            delivery=fast_policy(attempts=1),
        )
        async with hub_running as hub, console_session(tmp_path, role="ic", hub=hub) as s:
            await s.pilot.press("5", "i", "ctrl+s")
            await s.wait_for(lambda: isinstance(s.app.screen, UpdatePreview))
            await s.pilot.press("ctrl+s")
            lines = s.app.screen.query_one("#comms-deliveries", Static)
            await s.wait_for(lambda: "FAILED" in str(lines.render()), timeout=10)
            assert str(lines.render()) == (
                "✗ status-slack: FAILED after 1 attempt: no answer within 2s — r retries"
            )
            endpoint.hang = False
            await s.pilot.press("r")
            await s.wait_for(lambda: "✓" in str(lines.render()), timeout=10)
            assert str(lines.render()) == "✓ status-slack: delivered (1 attempt)"
            assert len(endpoint.requests) == 2


# --- snapshots ---------------------------------------------------------------------------------
#: cy, the comms lead, writes the updates.
CY = {"name": "cy", "role": "comms"}


def _board(hub) -> None:
    hub.post("bo", "responder", BoardItemAdded(kind="fact", text=FACT))
    hub.post("bo", "responder", BoardItemAdded(kind="guess", text=GUESS))


def test_snapshot_the_external_template_prefilled(snap_compare, tmp_path):
    assert snap_console(snap_compare, tmp_path, _board, **CY, press=["e"], size=(100, 36))


def test_snapshot_the_preview_of_the_exact_text(snap_compare, tmp_path):
    keys = ["e", "ctrl+s"]
    assert snap_console(snap_compare, tmp_path, _board, **CY, press=keys, size=(100, 36))


def test_snapshot_the_overdue_status_bar(snap_compare, tmp_path):
    clock = ManualClock(T0)
    with hub_in_thread(tmp_path, clock=clock) as hub:
        hub.seed()
        clock.advance(timedelta(minutes=10))
        assert hub.call(hub.server.hub.tick()) == 1  # type: ignore[union-attr]
        # Everyone's console: a responder, 2m10s past the deadline.
        late = ManualClock(NOW + timedelta(minutes=9, seconds=10))
        app = make_console(hub.url, name="bo", role="responder", clock=late)
        # escape closes the read-in a late joiner gets; 5 shows the comms pane.
        assert snap_compare(
            app, press=["escape", "5"], terminal_size=(100, 24), run_before=until_live
        )


async def test_a_paraphrased_guess_is_flagged_and_needs_a_second_key_to_publish(tmp_path):
    """A paraphrase of an open guess was published without a word; now the preview flags it."""
    paraphrase = "We suspect a connection leak in the payment client (v2.3.1)."
    async with console_session(tmp_path, name="cy", role="comms", size=(100, 36)) as s:
        await put_on_board(s)
        await s.pilot.press("e")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdateForm))
        s.app.screen.query_one("#f-doing", TextArea).text = paraphrase
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdatePreview))
        preview = s.app.screen
        flagged = str(preview.query_one("#preview-flagged", Static).render())
        assert paraphrase in flagged and GUESS in flagged
        assert "ctrl+y publish anyway" in str(preview.query_one("#form-hint", Static).render())

        await s.pilot.press("ctrl+s")  # the usual key does not publish it
        error = preview.query_one("#form-error", Static)
        await s.wait_for(lambda: "ctrl+y" in str(error.render()))
        await s.pilot.pause(0.2)
        assert s.app.client.state.comms.updates == []
        assert s.app.screen is preview

        await s.pilot.press("ctrl+y")  # the explicit second key does, and the timeline says so
        await s.wait_for(lambda: bool(s.app.client.state.comms.updates))
        guess_no = next(n for n, i in s.app.client.state.board.items() if i.text == GUESS)
        published = [e for e in s.app.client.log if e.type == "update_published"]
        assert published[-1].despite_guesses == [guess_no]
        assert f"despite resembling open guess #{guess_no}" in published[-1].describe()


async def test_an_update_of_confirmed_facts_publishes_with_one_key_as_before(tmp_path):
    async with console_session(tmp_path, name="cy", role="comms", size=(100, 36)) as s:
        await put_on_board(s)
        await s.pilot.press("e")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdateForm))
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdatePreview))
        assert not s.app.screen.query("#preview-flagged")
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: bool(s.app.client.state.comms.updates))
        published = [e for e in s.app.client.log if e.type == "update_published"]
        assert published[-1].despite_guesses == []


def out_of_view(app) -> str | None:
    """The focused widget's id if any row of it lies outside its form's box as drawn (the box
    is at most the screen's height; what lies past it is not drawn)."""
    widget = app.focused
    if widget is None:
        return None
    box = app.screen.query_one("#form").content_region
    if not box.contains_region(widget.region):
        return widget.id or type(widget).__name__
    return None


@pytest.mark.parametrize("size", [(80, 24), (140, 45)])
async def test_every_field_of_the_update_form_scrolls_into_view(tmp_path, size) -> None:
    """At 80x24 the update form is taller than the screen. It was cut at the bottom: Tab moved
    the cursor into the expected resolution and next update fields, unseen, and the hint that
    says how to preview was never shown."""
    async with console_session(tmp_path, name="cy", role="comms", size=size) as s:
        await s.pilot.press("i")
        await s.wait_for(lambda: isinstance(s.app.screen, UpdateForm))
        form = s.app.screen
        fields = [w for w in form.query("Input, TextArea") if w.focusable]
        assert [w.id for w in fields][-2:] == ["f-resolution", "f-next"]
        seen = []
        for _ in range(len(fields) + 2):
            await s.pilot.press("tab")
            seen.append(s.app.focused.id if s.app.focused else None)
            # Textual scrolls the focused field into view with a short animation (longer on a
            # busy machine): wait for it, and fail with the fields seen if it never comes.
            with contextlib.suppress(AssertionError):
                await s.wait_for(lambda: out_of_view(s.app) is None, timeout=3)
            assert out_of_view(s.app) is None, seen
        assert {"f-resolution", "f-next"} <= set(seen)
        form.query_one("#f-next", Input).focus()
        with contextlib.suppress(AssertionError):
            await s.wait_for(lambda: "ctrl+s preview" in screen_text(s.app), timeout=3)
        assert "ctrl+s preview" in screen_text(s.app), "the hint is reachable"
