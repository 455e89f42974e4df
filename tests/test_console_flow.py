"""The console's data flow: forms that recompose, one change notice per event, panes that render
only when shown, and declaring through the durable outbox."""

from __future__ import annotations

import asyncio
import json

import pytest
from textual.app import App
from textual.widgets import Static, TabbedContent
from warroom.hub.app import HubConfig, HubServer
from websockets.asyncio.client import connect

from tests.console_helpers import console_session, screen_text
from tests.helpers import T0, client, declare_incident, eventually, free_port, running_hub
from warroom.client.lobby import HubUnreachable, declaration, declare
from warroom.client.outbox import OutboxStore
from warroom.client.sync import IncidentClient
from warroom.console.panes import PANES
from warroom.console.screens.console import ConsoleScreen
from warroom.console.screens.lock_ic import ForceReleaseForm, HandOverForm
from warroom.console.widgets.pane import IncidentPane
from warroom.console.widgets.sidebar import RoomSidebar
from warroom.core.board import BoardItemAdded
from warroom.core.clock import ManualClock
from warroom.core.incident import NoteAdded
from warroom.core.production import ProductionLock
from warroom.core.protocol import PROTOCOL_VERSION, Hello
from warroom.core.roles import Role
from warroom.core.state import IncidentState


async def test_the_lock_forms_recompose_without_clashing_with_textual() -> None:
    """A form's own lock attribute once shadowed ``Widget.lock``, so recompose() raised."""
    seen = ProductionLock(holder="bo", token=3, queue=("cy",))
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        for form in (ForceReleaseForm(seen), HandOverForm(seen, ["bo", "cy"])):
            await app.push_screen(form)
            await pilot.pause()
            await form.recompose()
            await pilot.pause()
            context = str(form.query_one(".form-context", Static).render())
            assert "#3" in context
            form.dismiss(None)
            await pilot.pause()


# --- one change notice per event --------------------------------------------------------------


async def test_one_own_command_makes_one_notice_for_its_event_and_none_for_its_ack(tmp_path):
    """Sending is one notice (the outbox grew); the stored event is one more, covering the outbox
    emptying; the ack that follows it changes nothing, so it is no notice at all."""
    async with running_hub(tmp_path / "hub.db", clock=ManualClock(T0)) as hub:
        incident = await declare_incident(hub.url)
        bo = await client(hub.url, "bo", "responder", incident)
        kinds: list[str] = []
        unsubscribe = bo.subscribe(lambda change: kinds.append(change.kind))
        first = await bo.post(NoteAdded(text="pool exhausted on db-3"))
        second = await bo.post(NoteAdded(text="failover started"))
        # The hub answers each command on this connection in order, so the first ack has come
        # by the time the second event has; give the second ack the same chance.
        await asyncio.sleep(0.3)
        unsubscribe()
        await bo.close()
    assert first.op == "ack" and second.op == "ack"
    assert kinds == ["pending", "event", "pending", "event"]
    assert not bo.outbox


def count_renders(pane: IncidentPane) -> list[int]:
    """Record the seq of every state ``pane`` draws (the list grows as it renders)."""
    drawn: list[int] = []
    render = pane.render_state

    def counting(state: IncidentState) -> None:
        drawn.append(state.seq)
        render(state)

    pane.render_state = counting  # type: ignore[method-assign]
    return drawn


async def test_one_command_redraws_each_visible_pane_once_and_no_hidden_pane(tmp_path):
    async with console_session(tmp_path, name="sam", role="scribe") as s:
        screen = s.app.screen
        assert isinstance(screen, ConsoleScreen)
        await s.wait_for(lambda: screen.query_one(TabbedContent).active == "timeline")
        timeline, board = screen.pane("timeline"), screen.pane("board")
        sidebar = screen.query_one(RoomSidebar)
        drawn = {pane: count_renders(pane) for pane in screen.query(IncidentPane)}
        seq = s.app.client.state.seq

        await s.pilot.press("f", *"pool exhausted on db-3", "enter")
        await s.wait_for(lambda: s.app.client.state.note_count == 1 and not s.app.client.outbox)
        await asyncio.sleep(0.3)  # the ack follows the event: it must not redraw anything
        await s.pilot.pause()

        # At most twice: the entry shown pending (◷) as it is typed, then stored; the ack that
        # follows redraws nothing.
        for pane in (timeline, sidebar):  # the pane in front, and the column always in view
            assert drawn[pane].count(seq + 1) == 1, pane.id
            assert drawn[pane] in ([seq, seq + 1], [seq + 1]), pane.id
        hidden = [p for p in drawn if p.id in {f"pane-{spec.id}" for spec in PANES}]
        for pane in hidden:
            if pane is not timeline:
                assert drawn[pane] == [], pane.id  # behind another tab: not drawn

        # Someone else adds a fact while the board is behind the timeline.
        cy = await s.peer("cy", "responder")
        await cy.post(BoardItemAdded(kind="fact", text="5xx at 23%"))
        await s.wait_for(lambda: len(s.app.client.state.board) == 1)
        assert drawn[board] == []
        assert drawn[timeline][-1] == s.app.client.state.seq  # in front: kept up to date

        await s.pilot.press("2")
        await s.wait_for(lambda: screen.query_one(TabbedContent).active == "board")
        assert drawn[board] == [s.app.client.state.seq]  # drawn once, when shown, up to date
        assert "5xx at 23%" in screen_text(s.app)


# --- declaring through the outbox -------------------------------------------------------------


async def test_a_declaration_retried_after_a_lost_answer_declares_one_incident(tmp_path):
    """The console chooses the incident's id and the command's once: the hub stored the first
    try but its answer never came, and the retry is acknowledged with that same incident."""
    async with running_hub(tmp_path / "hub.db", clock=ManualClock(T0)) as hub:
        draft = declaration(title="Checkout errors after deploy", severity="SEV2")
        body = draft.command_body()
        async with connect(hub.url) as ws:
            await ws.send(
                Hello(name="ana", role=Role.IC, protocol=PROTOCOL_VERSION).model_dump_json()
            )
            await ws.send(json.dumps({"op": "command", "command": body}))
            # The link drops before the console reads the hub's answer.
        await eventually(lambda: draft.incident_id in hub.store.incident_ids())

        again = await declare(hub.url, "ana", draft=draft)

        assert again == draft.incident_id
        assert hub.store.incident_ids() == [draft.incident_id]
        assert len(list(hub.store.events(draft.incident_id))) == 1


async def test_a_declaration_waits_on_disk_while_the_hub_is_away(tmp_path):
    """Like every command, it is in the outbox file before it goes anywhere; the console that
    follows the incident later sends it first, and the incident then exists."""
    port, outbox = free_port(), tmp_path / "outbox"
    url = f"ws://127.0.0.1:{port}"
    draft = declaration(title="Checkout errors after deploy", severity="SEV1")
    with pytest.raises(HubUnreachable):
        await declare(
            url, "ana", draft=draft, store=OutboxStore(outbox, url, draft.incident_id, "ana")
        )

    config = HubConfig(host="127.0.0.1", port=port, db=tmp_path / "hub.db", timer_interval=0)
    hub = HubServer(config, ManualClock(T0))
    await hub.start()
    try:
        store = OutboxStore(outbox, url, draft.incident_id, "ana")
        ana = IncidentClient(url, "ana", "ic", draft.incident_id, store=store)
        ana.start()
        await ana.wait_synced()
        assert ana.state.declared and ana.state.title == "Checkout errors after deploy"
        assert not ana.outbox
        assert hub.store.incident_ids() == [draft.incident_id]
        await ana.close()
    finally:
        await hub.stop()
