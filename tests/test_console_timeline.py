"""The timeline with a long incident: 10,000 entries stay scrollable, filterable and live."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from textual.widgets import Label
from warroom.hub.storage import Store

from tests.console_helpers import INCIDENT, INCIDENT_ID, console_session, screen_text
from tests.helpers import T0, make_event
from warroom.console.screens.console import ConsoleScreen
from warroom.console.widgets.timeline import TimelinePane
from warroom.core.fold import replay

KINDS = ("note", "finding", "command")
AUTHORS = ("sam", "rita", "lee")
ENTRIES = 10_000


def write_long_incident(db: Path) -> None:
    """A stored incident of 10,000 notes, written through the hub's own storage."""
    declared = make_event("incident_declared", 1, actor="ana", role="ic", incident_id=INCIDENT_ID,
                          **{k: v for k, v in INCIDENT.items()})  # fmt: skip
    events = [declared]
    for i in range(ENTRIES):
        events.append(make_event(
            "note_added", i + 2, actor=AUTHORS[i % 3], role="responder", incident_id=INCIDENT_ID,
            at=T0 + timedelta(seconds=i), text=f"entry {i}", kind=KINDS[i % 3],
        ))  # fmt: skip
    store = Store(db)
    try:
        store.append(events, [replay(events)])
    finally:
        store.close()


def header(app) -> str:
    return str(app.screen.query_one("#timeline-header", Label).render())


async def test_ten_thousand_entries_stay_usable(tmp_path):
    write_long_incident(tmp_path / "hub.db")
    started = time.monotonic()
    async with console_session(tmp_path, name="sam", role="scribe", seed=False) as s:
        synced = time.monotonic() - started
        if not isinstance(s.app.screen, ConsoleScreen):
            await s.pilot.press("enter")  # a late joiner is read in first; close it
        assert isinstance(s.app.screen, ConsoleScreen)
        pane = s.app.screen.query_one(TimelinePane)
        view = pane.view
        assert synced < 30, f"joining a 10,000-entry incident took {synced:.1f}s"
        assert "entry 9999" in screen_text(s.app), "opens at the newest entry"
        # Joined by snapshot: the newest entries are there; Home at the top of what is held
        # brings the page before it (protocol 2 ``history``), until the whole record is in.
        client = s.app.client
        while not client.history_complete:
            held = len(view.entries)
            await s.pilot.press("home")
            await s.wait_for(lambda held=held: len(view.entries) > held or client.history_complete)
        assert len(view.entries) >= ENTRIES + 1
        assert [e.seq for e in view.entries] == sorted({e.seq for e in view.entries})
        # The view draws only what is on screen: one widget, not one per entry.
        assert len(pane.query("*")) < 20

        await s.pilot.press("home")
        assert view.cursor == 0 and not view.follow
        assert "SEV2 declared" in screen_text(s.app)
        assert "scrolled back" in header(s.app)

        await s.pilot.press("k", "k")  # declared, then note
        assert view.kind == "note"
        assert all(e.kind == "note" for e in view.rows)
        assert f"{len(view.rows):,} of" in header(s.app)

        await s.pilot.press("a")  # first author seen: ana (declared) -> no notes by ana
        await s.pilot.press("a")
        assert view.author == "sam"
        assert all(e.author == "sam" and e.kind == "note" for e in view.rows)
        assert len(view.rows) == ENTRIES // 3 + 1

        await s.pilot.press("escape")
        shown = [e for e in view.entries if e.kind != "presence"]  # arrivals stay folded
        assert (view.kind, view.author, len(view.rows)) == (None, None, len(shown))

        await s.pilot.press("slash", *"entry 4242", "enter")
        assert [e.text for e in view.rows] == ["entry 4242"]
        await s.pilot.press("escape")

        await s.pilot.press("end")
        assert view.follow and view.cursor == len(view.rows) - 1

        # Still live at the bottom of a long record: a new entry is followed.
        took = time.monotonic()
        await s.pilot.press("n", *"still here", "enter")
        # (the record's last entry is hours past the console's clock, so the line also says
        # when it was typed: "still here  ◷ typed 09:03:00, received 11:46:40")
        await s.wait_for(
            lambda: view.rows[-1].text.startswith("still here") and not view.rows[-1].pending
        )
        assert "still here" in screen_text(s.app)
        assert time.monotonic() - took < 10


async def test_typing_a_search_narrows_to_what_a_fresh_search_finds():
    """Typing a search letter by letter narrows the rows already shown (issue 24); whatever the
    path (narrowed, widened, another kind, a text amended meanwhile), the rows are those a search
    of every entry would show."""
    from textual.app import App
    from warroom.themes import VARIABLE_DEFAULTS

    from warroom.console.widgets.timeline_view import Entry, TimelineView

    words = ["rollback", "canary", "database", "failover", "replica", "lag", "queue"]
    entries = [
        Entry(seq=i + 1, at=None, kind=("note", "finding")[i % 2], author=("ana", "ben")[i % 3 == 0],
              role="scribe", text=f"{words[i % 7]} {words[(i * 3) % 7]} step {i}")
        for i in range(300)
    ]  # fmt: skip

    class One(App[None]):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return dict(VARIABLE_DEFAULTS)  # the console's own colour names

        def compose(self):  # noqa: ANN202
            yield TimelineView(id="view")

    async with One().run_test() as pilot:
        view = pilot.app.query_one(TimelineView)
        view.replace(entries)

        def fresh(kind: str | None, author: str | None, text: str) -> list[Entry]:
            needles = text.lower().split()
            return [e for e in view.entries if e.matches(kind, author, needles)]

        steps = [(None, None, "r"), (None, None, "ro"), (None, None, "roll"), (None, None, "roll c"),
                 (None, None, "roll ca"), (None, None, "roll"), ("finding", None, "roll"),
                 ("finding", None, "rollb"), ("finding", "ben", "rollb"), (None, None, "")]  # fmt: skip
        for kind, author, text in steps:
            view.set_filter(kind, author, text)
            assert view.rows == fresh(kind, author, text), (kind, author, text)
        view.set_filter(None, None, "zeb")
        assert view.rows == []
        view.retext({3: "zebra crossing"})  # amended while the search is open: now it matches
        view.set_filter(None, None, "zebr")
        assert [e.seq for e in view.rows] == [3]


async def test_the_line_under_the_timeline_opens_without_moving_the_timeline(tmp_path):
    """The entry and search lines open and close in a line that is always there (a calm hint
    while they are closed), so a key that opens or closes one moves nothing else: the timeline
    keeps its place and is not laid out and repainted whole for it (issue 24)."""
    async with console_session(tmp_path, name="sam", role="scribe", size=(80, 24)) as s:
        pane = s.app.screen.query_one(TimelinePane)
        view = pane.view
        hint = pane.query_one("#timeline-hint", Label)
        await s.pilot.pause()
        region = view.region
        assert hint.display
        assert "add a line" in str(hint.render()) and "/ search" in str(hint.render())
        paths = [["n"], [*"half a thought"], ["escape"], ["slash"], [*"roll"], ["enter"],
                 ["slash"], ["escape"], ["f", *"disk full", "enter"]]  # fmt: skip
        for keys in paths:
            await s.pilot.press(*keys)
            assert view.region == region, f"the timeline moved after {keys}"
            open_line = any(pane.query_one(f"#timeline-{w}").display for w in ("entry", "search"))
            assert hint.display is not open_line, keys
        await s.wait_for(lambda: s.app.client.state.note_count == 1)
        assert pane.view.rows[-1].text == "Finding: disk full"


async def test_a_reader_is_hinted_only_the_keys_that_read(tmp_path):
    async with console_session(tmp_path, name="olga", role="observer", size=(80, 24)) as s:
        pane = s.app.screen.query_one(TimelinePane)
        await s.pilot.pause()
        hint = str(pane.query_one("#timeline-hint", Label).render())
        assert "/ search" in hint and "k kind" in hint
        assert "add a line" not in hint


async def test_moving_focus_off_the_timeline_redraws_only_the_highlighted_line():
    """Focus leaving the timeline (n, /) or coming back (Enter, Escape) changes how one line
    looks, the highlighted one; the others are not drawn again (issue 24: drawing all 30 was
    most of those keys' frame). A new theme still redraws every line in its colours."""
    from textual.app import App
    from textual.widgets import Input
    from warroom.themes import VARIABLE_DEFAULTS

    from warroom.console.widgets.timeline_view import Entry, TimelineView

    class One(App[None]):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return dict(VARIABLE_DEFAULTS)

        def compose(self):  # noqa: ANN202
            yield TimelineView(id="view")
            yield Input(id="field")

    async with One().run_test(size=(80, 24)) as pilot:
        view = pilot.app.query_one(TimelineView)
        view.replace([Entry(seq=i + 1, at=None, kind="note", author="sam", role="scribe",
                            text=f"line {i}") for i in range(100)])  # fmt: skip
        view.focus()
        await pilot.pause()
        drawn: list[str] = []
        draw = view._line
        view._line = lambda entry: (drawn.append(entry.text), draw(entry))[1]  # type: ignore[method-assign]
        painted: list[int] = []
        paint = view.render_line
        view.render_line = lambda y: (painted.append(y), paint(y))[1]  # type: ignore[method-assign]
        row = view.cursor - round(view.scroll_y)
        pilot.app.query_one(Input).focus()
        await pilot.pause()
        # At most the line that was highlighted (its plain look may still be cached).
        assert set(drawn) <= {"line 99"}, "only the highlighted line is drawn again"
        assert set(painted) == {row}, "and only it is repainted"
        drawn.clear()
        painted.clear()
        view.focus()
        await pilot.pause()
        assert set(drawn) <= {"line 99"}
        assert set(painted) == {row}
        del view.render_line
        highlighted = view.render_line(row)
        pilot.app.query_one(Input).focus()
        await pilot.pause()
        assert view.render_line(row) != highlighted, "without focus, no highlight"
        view.focus()
        await pilot.pause()
        before = view.render_line(0)
        drawn.clear()
        pilot.app.theme = "textual-light"
        await pilot.pause()
        assert len(drawn) > 20, "a new theme draws every line on screen again"
        assert view.render_line(0) != before


async def test_keys_that_move_the_focus_repaint_neither_the_status_bar_nor_the_footer_in_their_frame(
    tmp_path,
):
    """``n``, ``/``, Escape and Enter move the focus into or out of an input (the footer shows
    other keys) and Enter adds a pending command (the status bar counts it). Both follow one
    frame later: drawn in the key's own frame they asked for a layout and stretched its repaint
    from the top row to the bottom one (issue 24, fifth pass). The key's frame still shows
    what it did (the pending line on Enter), and the footer and the bar then catch up."""
    from textual.geometry import Region

    from tests.test_console_footer import offered_keys, shown_keys
    from warroom.console.widgets.footer import CalmFooter
    from warroom.console.widgets.status_bar import StatusBar

    async with console_session(tmp_path, name="sam", role="scribe", size=(100, 30)) as s:
        console = s.app.screen
        pane = console.query_one(TimelinePane)
        await s.pilot.pause()
        await s.wait_for(lambda: shown_keys(s.app) == offered_keys(s.app), timeout=3)
        bar, footer = console.query_one(StatusBar).region, console.query_one(CalmFooter).region
        compositor = console._compositor
        frames: list[tuple[list[Region], list[str]]] = []
        render_update = compositor.render_update

        def spy(*args, **kwargs):  # noqa: ANN202
            if compositor._dirty_regions:
                rows = [row.text for row in pane.view.rows[-2:]]
                frames.append((list(compositor._dirty_regions), rows))
            return render_update(*args, **kwargs)

        compositor.render_update = spy
        for keys in (["n"], [*"disk full"], ["enter"], ["slash"], ["escape"]):
            for key in keys:
                frames.clear()
                await s.pilot.press(key)
                await s.pilot.pause()
            dirty, rows = frames[0]
            if keys[0] in ("n", "enter", "slash", "escape"):
                assert not any(r.overlaps(footer) for r in dirty), f"footer in {keys}' frame"
                assert not any(r.overlaps(bar) for r in dirty), f"status bar in {keys}' frame"
            if keys == ["enter"]:
                assert rows[-1] == "disk full", "the line shows in Enter's own frame"
            await s.wait_for(lambda: shown_keys(s.app) == offered_keys(s.app), timeout=3)
        del compositor.render_update
        await s.wait_for(lambda: s.app.client.state.note_count == 1)
        link = console.query_one("#sb-link", Label)
        await s.wait_for(lambda: "pending" not in str(link.render()), timeout=3)


async def test_the_text_column_lines_up_for_names_in_wide_characters():
    """Names are cut to the author column by the cells they take, not their characters: a name
    in CJK characters (two cells each) pushed its line's text six cells right of the others."""
    from rich.cells import cell_len
    from textual.app import App
    from warroom.themes import VARIABLE_DEFAULTS

    from warroom.console.widgets.timeline_view import Entry, TimelineView

    class One(App[None]):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return dict(VARIABLE_DEFAULTS)

        def compose(self):  # noqa: ANN202
            yield TimelineView(id="view")

    authors = ["ana", "cyrille-the-very-long-name", "李雷韩梅梅同学", "李雷", "émilie", "🔥sre"]
    async with One().run_test(size=(80, 24)) as pilot:
        view = pilot.app.query_one(TimelineView)
        view.replace([Entry(seq=i + 1, at=None, kind="note", author=a, role="responder",
                            text="MESSAGE") for i, a in enumerate(authors)])  # fmt: skip
        await pilot.pause()
        starts = []
        for entry in view.entries:
            plain = view._line(entry).plain
            starts.append(cell_len(plain[: plain.index("MESSAGE")]))
        assert len(set(starts)) == 1, dict(zip(authors, starts, strict=True))


def test_fit_cuts_by_cells_and_marks_the_cut():
    from rich.cells import cell_len

    from warroom.console.cells import fit

    assert fit("ana", 16) == "ana"
    assert fit("cyrille-the-very-long-name", 10) == "cyrille-t…"
    cut = fit("数据库连接池已满，正在回滚", 10)
    assert cut.endswith("…") and cell_len(cut) == 10
    assert cell_len(fit("李雷韩梅", 6)) == 6  # a character that would straddle the cut: a space
    assert fit("anything", 0) == ""
