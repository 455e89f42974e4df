"""Putting the record right from the console (issue 23, items 1 and 3), pressing keys on a real hub.

``e`` on a highlighted timeline row amends it, ``t`` retimes it, ``v`` shows every version; what
the keys offer is the core's rule (the author, the scribe or the IC amend; the scribe or the IC
retime), and a greyed key says why.
"""

from __future__ import annotations

from datetime import timedelta

from tests.console_helpers import NOW, console_session, screen_text
from tests.helpers import T0
from warroom.console.screens.console import ConsoleScreen
from warroom.console.screens.timeline_correct import AmendForm, RetimeForm
from warroom.console.screens.timeline_versions import VersionsScreen
from warroom.console.widgets.timeline import TimelinePane
from warroom.core.corrections import EntryAmended
from warroom.core.incident import NoteAdded

WRONG = "db failover took 3 minutes"


async def test_the_scribe_amends_retimes_and_reads_the_versions_with_keys(tmp_path) -> None:
    async with console_session(tmp_path, name="sam", role="scribe", size=(120, 30)) as s:
        pane = s.app.screen.query_one(TimelinePane)
        view = pane.view
        client = s.app.client
        assert client is not None
        await s.pilot.press("1")
        await s.pilot.press("f", *WRONG, "enter")
        await s.wait_for(lambda: client.state.note_count == 1 and not view.pending)
        note = client.log[-1]
        assert isinstance(note, NoteAdded) and note.noted_at == NOW  # the console's clock
        assert view.current is not None and view.current.seq == note.seq

        # e: the form holds the current text; fix it, say why, Enter sends from the reason
        await s.pilot.press("e")
        assert isinstance(s.app.screen, AmendForm)
        await s.pilot.press("end", *["backspace"] * 9, *"13 minutes", "enter")
        await s.pilot.press(*"misread the graph", "enter")
        await s.wait_for(lambda: note.seq in client.state.corrections)
        await s.wait_for(lambda: isinstance(s.app.screen, ConsoleScreen))
        row = next(e for e in view.entries if e.seq == note.seq)
        assert row.text == "✎ Finding: db failover took 13 minutes"
        assert "✎ Finding: db failover took 13 minutes" in screen_text(s.app)
        versions = client.state.corrections[note.seq]
        assert [(v.text, v.by, v.reason) for v in versions] == [
            ("db failover took 13 minutes", "sam", "misread the graph")
        ]

        # the amendment itself is the newest row; go back up to the finding
        await s.pilot.press("up")
        assert view.current is not None and view.current.seq == note.seq
        await s.pilot.press("v")
        assert isinstance(s.app.screen, VersionsScreen)
        shown = screen_text(s.app)
        assert "Finding: db failover took 3 minutes" in shown
        assert "Finding: db failover took 13 minutes" in shown
        assert "because misread the graph" in shown
        await s.pilot.press("escape")
        assert isinstance(s.app.screen, ConsoleScreen)

        # t: when it really happened, kept apart from the times it was recorded
        await s.pilot.press("t")
        assert isinstance(s.app.screen, RetimeForm)
        await s.pilot.press(*"8:52", "enter", *"the failover log says 08:52", "enter")
        await s.wait_for(lambda: note.seq in client.state.retimes)
        retime = client.state.retimes[note.seq][-1]
        assert retime.happened_at == T0.replace(hour=8, minute=52)
        assert note.at == T0  # the hub's time of recording stays
        await s.wait_for(lambda: "↶ happened 08:52:00" in screen_text(s.app))


async def test_another_responder_cannot_amend_and_the_key_says_why(tmp_path) -> None:
    async with console_session(tmp_path, name="cy", role="responder", size=(120, 30)) as s:
        bo = await s.peer("bo", "responder")
        ack = await bo.post(NoteAdded(text="restarted the pool", kind="command"))
        pane = s.app.screen.query_one(TimelinePane)
        await s.pilot.press("1")
        await s.wait_for(lambda: any(e.seq == ack.seq for e in pane.view.entries))
        await s.pilot.press("end")
        assert pane.view.current is not None and pane.view.current.seq == ack.seq
        await s.pilot.press("e")
        await s.pilot.pause()
        assert isinstance(s.app.screen, ConsoleScreen)  # no form opened
        said = [n.message for n in s.app._notifications]
        assert any("Only bo, who wrote" in m for m in said), said
        await s.pilot.press("t")
        await s.pilot.pause()
        assert isinstance(s.app.screen, ConsoleScreen)
        said = [n.message for n in s.app._notifications]
        assert any("Only the scribe or the IC retimes" in m for m in said), said
        assert s.app.client is not None and s.app.client.state.corrections == {}


async def test_a_decision_is_not_amended_it_is_superseded(tmp_path) -> None:
    async with console_session(tmp_path, name="ana", role="ic", size=(120, 30)) as s:
        from warroom.core.decisions import DecisionRecorded

        client = s.app.client
        assert client is not None
        await client.post(DecisionRecorded(what="Roll back", why="v2 broke checkout"))
        await s.pilot.press("1")
        pane = s.app.screen.query_one(TimelinePane)
        await s.wait_for(lambda: pane.view.rows[-1].kind == "decision")
        await s.pilot.press("end", "e")
        await s.pilot.pause()
        assert isinstance(s.app.screen, ConsoleScreen)
        said = [n.message for n in s.app._notifications]
        assert any("Decisions are never edited" in m for m in said), said


async def test_the_palette_offers_amend_and_retime_on_the_timeline(tmp_path) -> None:
    async with console_session(tmp_path, name="sam", role="scribe", size=(120, 30)) as s:
        await s.pilot.press("1", "n", *"hello", "enter")
        client = s.app.client
        assert client is not None
        await s.wait_for(lambda: client.state.note_count == 1)
        screen = s.app.screen
        assert isinstance(screen, ConsoleScreen)
        titles = [c.title for c in screen.palette_commands()]
        assert any(t.startswith("Timeline: Amend the highlighted entry") for t in titles), titles
        assert any(t.startswith("Timeline: Say when the highlighted entry") for t in titles)


async def test_a_note_typed_long_before_the_hub_had_it_shows_both_times(tmp_path) -> None:
    async with console_session(tmp_path, name="sam", role="scribe", size=(140, 30)) as s:
        client = s.app.client
        assert client is not None
        typed = T0 - timedelta(seconds=47)
        ack = await client.post(NoteAdded(text="failover started", noted_at=typed))
        await s.pilot.press("1")
        pane = s.app.screen.query_one(TimelinePane)
        await s.wait_for(lambda: any(e.seq == ack.seq for e in pane.view.entries))
        row = next(e for e in pane.view.entries if e.seq == ack.seq)
        assert row.text == "failover started  ◷ typed 08:59:13, received 09:00:00"
        # an amendment from someone else reaches this console's row at once
        await client.post(EntryAmended(entry=ack.seq, text="failover begun", reason="wording"))
        await s.wait_for(lambda: "✎ failover begun" in screen_text(s.app))


def test_the_retime_form_reads_a_time_of_day_on_the_day_of_the_entry() -> None:
    from datetime import UTC, datetime

    from warroom.console.screens.timeline_correct import parse_happened

    recorded = datetime(2026, 3, 14, 9, 0, 30, tzinfo=UTC)
    assert parse_happened("08:52", recorded) == datetime(2026, 3, 14, 8, 52, tzinfo=UTC)
    assert parse_happened("8:52:07", recorded) == datetime(2026, 3, 14, 8, 52, 7, tzinfo=UTC)
    # just after midnight, 23:50 is the evening before
    late = datetime(2026, 3, 14, 0, 5, tzinfo=UTC)
    assert parse_happened("23:50", late) == datetime(2026, 3, 13, 23, 50, tzinfo=UTC)
    assert parse_happened("2026-03-14T08:52:00+00:00", recorded) == datetime(
        2026, 3, 14, 8, 52, tzinfo=UTC
    )
    # a date and time without a zone is read on the console's clock (UTC by default)
    assert parse_happened("2026-03-14 08:52", recorded) == datetime(2026, 3, 14, 8, 52, tzinfo=UTC)
    for bad in ("25:00", "08:61", "soon", ""):
        assert parse_happened(bad, recorded) is None, bad


async def test_a_card_written_in_a_form_carries_the_time_it_was_sent(tmp_path) -> None:
    async with console_session(tmp_path, name="sam", role="scribe", size=(120, 30)) as s:
        client = s.app.client
        assert client is not None
        await s.pilot.press("G", *"pool exhausted", "enter")
        await s.wait_for(lambda: len(client.state.board) == 1)
        (card,) = [e for e in client.log if e.type == "board_item_added"]
        assert card.noted_at == NOW and card.at == T0
