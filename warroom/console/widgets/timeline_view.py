"""A scrolling list of timeline entries that stays fast with tens of thousands of them.

It is a Line API widget: it keeps plain :class:`Entry` records and renders only the lines on
screen, so 10,000 entries cost 10,000 small records and not 10,000 widgets. Filtering rebuilds a
list of indexes, which takes milliseconds. New entries are appended without touching old ones.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Self

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.dom import NoScreen
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from warroom.console.cells import fit
from warroom.console.css import tcss_beside
from warroom.core.corrections import EntryRetimed, corrected, typed_apart, typed_note
from warroom.core.events import EventBase
from warroom.core.incident import ParticipantJoined
from warroom.core.local_time import UTC_TIMES, Times
from warroom.core.roles import HELD_ROLES, Role
from warroom.core.state import IncidentState

#: Short role tags for the author column.
ROLE_TAGS: dict[str, str] = {
    "ic": "IC", "scribe": "scribe", "comms": "comms", "lead": "lead",
    "responder": "resp", "observer": "obs", "hub": "hub",
}  # fmt: skip

KIND_WIDTH = 9
AUTHOR_WIDTH = 16

#: Arrivals and departures: folded away unless asked for (the room's online list shows who is
#: here; the record is about the incident).
PRESENCE = "presence"
#: The mark of an entry whose text was amended (``v`` shows its versions).
AMENDED = "✎"
#: The timeline kinds of the events that decide who holds which role.
ROLE_KINDS = frozenset({"declared", PRESENCE, "role"})


class LogFollower:
    """What changed in a client's timeline rows since a widget last looked.

    Rows arrive at both ends: new events after the newest, older pages (``history``) before the
    oldest, and a snapshot replaces them all (the client's ``log_epoch`` grows). Widgets that keep
    their own rows ask this what to prepend and append, or whether to start over.
    """

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.first: int | None = None
        self.last = 0

    def changes(
        self, log: list[EventBase], epoch: int
    ) -> tuple[bool, list[EventBase], list[EventBase]]:
        """``(start_over, older, newer)`` since the last call."""
        restart = (
            epoch != self.epoch
            or (not log and self.last > 0)
            or (bool(log) and self.first is not None and log[0].seq > self.first)
        )
        if restart:
            self.epoch, self.first, self.last = epoch, None, 0
        if not log:
            return restart, [], []
        older: list[EventBase] = []
        if self.first is not None:
            older = log[: bisect.bisect_left(log, self.first, key=_seq)]
        newer = log[bisect.bisect_right(log, self.last, key=_seq) :]
        self.first, self.last = log[0].seq, log[-1].seq
        return restart, older, newer


def _seq(event: EventBase) -> int:
    return event.seq


class HeldRoles:
    """Who holds which role as the log goes by, for the timeline's role column.

    The hub stamps each event with the author's role as it stood before the event: someone who
    joins for a vacant seat is stamped a responder on their arrival and on the seat being given
    to them. The column shows the role held once the event is in: this folds the events that
    move roles (declaration, presence, role and handoff events) with the core's own folds.
    """

    def __init__(self) -> None:
        self.state = IncidentState()

    def role_for(self, event: EventBase, stamped: str) -> str:
        """Fold ``event`` if it moves roles, and return the role its author holds then."""
        joined = event.seat if isinstance(event, ParticipantJoined) else None
        if joined in HELD_ROLES and self.state.holder(joined) is None:
            # The hub gives a vacant seat to whoever asked for it, in the very next event.
            self.state = event.fold(self.state)
            return joined.value
        if event.timeline_kind in ROLE_KINDS:
            self.state = event.fold(self.state)
        held = self.state.roles_of(event.actor) if event.actor else []
        return held[0].value if held else stamped


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline; ``seq`` is ``None`` while the hub has not acknowledged it."""

    seq: int | None
    at: datetime | None
    kind: str
    author: str
    role: str
    text: str

    @property
    def pending(self) -> bool:
        return self.seq is None

    @classmethod
    def of(
        cls,
        event: EventBase,
        author: str = "",
        role: Role | None = None,
        state: IncidentState | None = None,
        times: Times = UTC_TIMES,
    ) -> Entry:
        """The entry for a stored event, or for a draft still in the outbox (``seq`` 0), which
        has no author or role yet: the console supplies its own.

        Given the folded ``state``, the line reads the entry as it stands now: its amended text
        marked ✎, when it happened if the scribe retimed it (↶), and when it was typed if the hub
        received it well after (◷).
        """
        stamped = event.role if event.seq else (role or event.role)
        return cls(
            seq=event.seq or None,
            at=event.at,
            kind=event.entry_kind(),
            author=event.actor or author,
            role=stamped.value if isinstance(stamped, Role) else str(stamped),
            text=line_text(event, state, times),
        )

    def matches(self, kind: str | None, author: str | None, words: Sequence[str]) -> bool:
        """Whether the entry passes the filter; ``words`` are the search words, lower-cased
        and split once by the caller (not once per entry of a long timeline)."""
        if kind is not None and self.kind != kind:
            return False
        if author is not None and self.author != author:
            return False
        if words:
            haystack = f"{self.kind} {self.author} {self.text}".lower()
            return all(word in haystack for word in words)
        return True


def line_text(
    event: EventBase, state: IncidentState | None = None, times: Times = UTC_TIMES
) -> str:
    """The timeline's words for ``event``: one line, with its corrections and times marked
    (on the console's clock, ``times``)."""
    shown = corrected(state, event) if state is not None and event.seq else event
    said = shown.describe_on(times) if isinstance(shown, EntryRetimed) else shown.describe()
    text = " ⏎ ".join(said.splitlines())
    if state is not None and event.seq in state.corrections:
        text = f"{AMENDED} {text}"
    if state is not None and event.seq in state.retimes:
        text += f"  ↶ happened {times.hms(state.retimes[event.seq][-1].happened_at)}"
    if typed_apart(event):
        text += f"  {typed_note(event, times)}"
    return text


class TimelineView(ScrollView, can_focus=True, inherit_bindings=False):
    """The entries, one per line: hub time (on the console's clock), kind, author and role, text.

    Its own keys move a cursor rather than scroll (the scrolling keys it would inherit are left
    out), so the pane around it can offer End in the footer.
    """

    DEFAULT_CSS = tcss_beside(__file__)
    COMPONENT_CLASSES = {
        "timeline--time",
        "timeline--kind",
        "timeline--author",
        "timeline--cursor",
        "timeline--pending",
        "timeline--finding",
        "timeline--decision",
        "timeline--quiet",
    }

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, id="timeline.up",
                tooltip="Previous entry"),
        Binding("down", "cursor(1)", "Down", show=False, id="timeline.down",
                tooltip="Next entry"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="timeline.page_up",
                tooltip="One screen back"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="timeline.page_down",
                tooltip="One screen on"),
        Binding("home", "first", "First entry", show=False, id="timeline.first",
                tooltip="The first entry of the incident"),
    ]  # fmt: skip

    cursor: reactive[int] = reactive(0, init=False)
    """The highlighted row (an index into the filtered rows)."""

    def __init__(self, *, compact: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        #: Narrow form for side columns: hh:mm, author and text only.
        self.compact = compact
        self.entries: list[Entry] = []
        self.pending: list[Entry] = []
        self.rows: list[Entry] = []
        self.kind: str | None = None
        self.author: str | None = None
        self.words: str = ""
        #: Whether arrivals and departures are shown (``p`` in the timeline pane).
        self.show_presence = False
        #: Keep the newest entry in view as entries arrive (until the reader scrolls away).
        self.follow = True
        self.on_rows_changed: Callable[[], None] | None = None
        self.on_jump: Callable[[], None] | None = None
        self.on_cursor: Callable[[], None] | None = None
        #: Called when the reader reaches the first row (the pane then asks for older ones).
        self.on_top: Callable[[], None] | None = None
        #: The search words, lower-cased and split (see :meth:`set_filter`).
        self._needles: list[str] = []
        #: The filter that made :attr:`rows` (kind, author, words, presence shown).
        self._filtered: tuple[str | None, str | None, list[str], bool] | None = None
        #: Drawn lines by (entry, width, highlighted, base style): a key press or an arriving
        #: entry redraws the lines on screen, and most of them are the same as before. Drawing
        #: one (rich Text to segments) is what made scrolling cost tens of ms (issue 24).
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._base: Style | None = None
        #: The widget's style and its component styles the cached lines were drawn with, and
        #: whether it is to be compared again (after Textual says a style may have changed).
        self._look: tuple[Style, ...] | None = None
        self._look_checked = False
        #: How many of :attr:`entries` are arrivals and departures (the header says how many
        #: are folded away at every change; counting 10,000 entries each time showed up).
        self._presence = 0

    # --- data ---------------------------------------------------------------------------------
    def append(self, entries: Iterable[Entry]) -> None:
        new = list(entries)
        self.entries.extend(new)
        self._presence += _presence(new)
        confirmed = len(self.rows) - len(self.pending)
        shown = [e for e in new if self._visible(e)]
        self.rows[confirmed:confirmed] = shown
        self._changed()

    def prepend(self, entries: Iterable[Entry]) -> None:
        """Older entries in front; the reader stays on the entry they were reading."""
        new = list(entries)
        if not new:
            return
        self.entries[:0] = new
        self._presence += _presence(new)
        shown = [e for e in new if self._visible(e)]
        self.rows[:0] = shown
        if shown and not self.follow:
            top = round(self.scroll_y)
            self.virtual_size = Size(self.size.width, len(self.rows))
            self.cursor += len(shown)
            self.scroll_to(y=top + len(shown), animate=False, immediate=True)
        self._changed()

    def _visible(self, entry: Entry) -> bool:
        if entry.kind == PRESENCE and not (self.show_presence or self.kind == PRESENCE):
            return False
        return entry.matches(self.kind, self.author, self._needles)

    @property
    def folded(self) -> int:
        """How many arrivals and departures are folded away right now."""
        if self.show_presence or self.kind == PRESENCE:
            return 0
        return self._presence

    def set_show_presence(self, show: bool) -> None:
        self.show_presence = show
        self._refilter()

    def replace(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        self._presence = _presence(self.entries)
        self._refilter()

    def retext(self, changed: dict[int, str]) -> None:
        """Give the entries of the seqs in ``changed`` their new text (an amendment or a retime
        arrived), where they are, without rebuilding the list."""
        if not changed:
            return
        self._filtered = None  # a new text may match the search: the next filter looks at all
        for rows in (self.entries, self.rows):
            for index, entry in enumerate(rows):
                if entry.seq is not None and entry.seq in changed:
                    rows[index] = replace(entry, text=changed[entry.seq])
        self.refresh()
        if self.on_cursor is not None:
            self.on_cursor()

    def set_pending(self, pending: list[Entry]) -> None:
        if pending == self.pending:
            return
        confirmed = len(self.rows) - len(self.pending)
        self.pending = pending
        self.rows[confirmed:] = pending
        self._changed()

    def set_filter(self, kind: str | None, author: str | None, words: str) -> None:
        before = self._filtered
        self.kind, self.author, self.words = kind, author, words.strip()
        needles = self._needles = self.words.lower().split()
        # Only the search words changed, and each old word is part of a new one (the next
        # letter typed): every entry shown now was shown before, so the shown rows are narrowed
        # rather than the whole timeline searched again at every key (issue 24).
        narrow = (
            before is not None
            and before[:2] == (kind, author)
            and before[3] == self.show_presence
            and before[2] != needles
            and all(any(old in new for new in needles) for old in before[2])
        )
        self._refilter(narrow)

    def _refilter(self, narrow: bool = False) -> None:
        source = self.rows[: len(self.rows) - len(self.pending)] if narrow else self.entries
        self._filtered = (self.kind, self.author, self._needles, self.show_presence)
        if self.kind or self.author or self._needles:
            shown = [e for e in source if self._visible(e)]
        elif self.show_presence:
            shown = list(source)
        else:  # no filter (Escape): only the folded joins are left out, without a call per entry
            shown = [e for e in source if e.kind != PRESENCE]
        self.rows = shown + self.pending
        self.follow = True
        self._changed()

    def _changed(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows))
        if self.follow:
            self.cursor = max(0, len(self.rows) - 1)
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            # Before the first layout (or while hidden) there is nothing to scroll yet.
            self.call_after_refresh(self._keep_following)
        else:
            self.cursor = min(self.cursor, max(0, len(self.rows) - 1))
        self.refresh()
        if self.on_rows_changed is not None:
            self.on_rows_changed()

    @property
    def current(self) -> Entry | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # --- moving -------------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.refresh()
        entry = self.current
        self.tooltip = _time_tip(self.times, entry.at) if entry is not None else None
        if self.on_cursor is not None:
            self.on_cursor()

    @property
    def times(self) -> Times:
        return getattr(self.app, "times", UTC_TIMES)

    def move_to(self, row: int) -> None:
        last = max(0, len(self.rows) - 1)
        self.cursor = max(0, min(row, last))
        if self.cursor == 0 and self.on_top is not None:
            self.on_top()
        following = self.cursor >= last
        if following != self.follow:
            self.follow = following
            if self.on_jump is not None:
                self.on_jump()

    def action_cursor(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_to(0)

    def jump_to_end(self) -> None:
        self.move_to(len(self.rows) - 1)
        self.follow = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        if self.on_jump is not None:
            self.on_jump()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(new_value) == 0 and round(old_value) > 0 and self.on_top is not None:
            self.on_top()  # scrolled (by wheel or scrollbar) to the first row

    def focus(self, scroll_visible: bool = True) -> Self:
        """As Textual's, without repainting the whole view first (see :meth:`_on_focus`)."""

        def set_focus(widget: Widget) -> None:
            with contextlib.suppress(NoScreen):
                widget.screen.set_focus(self, scroll_visible=scroll_visible)

        self.app.call_later(set_focus, self)
        return self

    def _on_focus(self, event: events.Focus) -> None:
        """Focus changes how one line looks, the highlighted one: only it is repainted.

        Textual repaints a widget whole when it gains or loses focus; for the timeline that
        was 30 lines composited again for ``n``, ``/``, Escape and Enter (issue 24)."""
        event.prevent_default()
        self.has_focus = True
        self._refresh_cursor_line()
        if self.parent is not None:
            self.parent.post_message(events.DescendantFocus(self))

    def _on_blur(self, event: events.Blur) -> None:
        event.prevent_default()
        self.has_focus = False
        self._refresh_cursor_line()
        if self.parent is not None:
            self.parent.post_message(events.DescendantBlur(self))

    def _refresh_cursor_line(self) -> None:
        y = self.cursor - round(self.scroll_y)
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def on_click(self, event: events.Click) -> None:
        self.move_to(round(self.scroll_y) + event.y)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.rows))
        self._keep_following()
        self.call_after_refresh(self._keep_following)

    def on_show(self) -> None:
        self.call_after_refresh(self._keep_following)

    def _keep_following(self) -> None:
        if self.follow and round(self.scroll_y) < self.max_scroll_y:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    # --- drawing ------------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style is worked out once per redraw, not once per line (it walks the
        # ancestors for the background: a fifth of a frame's time with the cache below).
        self._base = self._checked_base()
        try:
            return super().render_lines(crop)
        finally:
            self._base = None

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        base = self._base if self._base is not None else self._checked_base()
        if index >= len(self.rows):
            return Strip.blank(width, base)
        entry = self.rows[index]
        highlighted = index == self.cursor and self.has_focus
        # The clock shown is part of a line (U switches it), so it is part of the key.
        key = (entry, width, highlighted, base, self.times)
        strip = self._strips.get(key)
        if strip is None:
            text = self._line(entry)
            text.truncate(width, overflow="ellipsis", pad=True)
            if highlighted:
                text.stylize(self.get_component_rich_style("timeline--cursor"))
            segments = list(text.render(self.app.console))
            strip = Strip(segments).adjust_cell_length(width, base).apply_style(base)
            self._strips[key] = strip
        return strip

    def notify_style_update(self) -> None:
        """A style may have changed: compared at the next redraw (see :meth:`_checked_base`)."""
        super().notify_style_update()
        self._look_checked = False

    def _checked_base(self) -> Style:
        """The widget's style; the drawn lines are forgotten if it or a component's changed.

        Textual says a style may have changed whenever focus comes or goes (``:focus``), though
        nothing the lines are drawn with changes: clearing the cache then drew all 30 lines
        again for ``n``, ``/``, Escape and Enter (issue 24). A theme does change them."""
        base = self.rich_style
        if not self._look_checked:
            look = (
                base,
                *(self.get_component_rich_style(name) for name in sorted(self.COMPONENT_CLASSES)),
            )
            if look != self._look:
                self._strips.clear()
                self._look = look
            self._look_checked = True
        return base

    def _line(self, entry: Entry) -> Text:
        style = self.get_component_rich_style
        when = self.times.hms(entry.at) if entry.at else "pending "
        tag = ROLE_TAGS.get(entry.role, entry.role)
        # The name and its role tag share the author column, measured in cells (a CJK name
        # takes two a character).
        name = fit(entry.author, max(2, AUTHOR_WIDTH - len(tag) - 1))
        kind = entry.kind.replace("_", " ")[:KIND_WIDTH]
        text_style: Style | str = ""
        if entry.pending:
            text_style = style("timeline--pending")
        elif entry.kind == "finding":
            text_style = style("timeline--finding")
        elif entry.kind.startswith("decision"):
            text_style = style("timeline--decision")
        elif entry.kind in ("presence", "role"):
            text_style = style("timeline--quiet")
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.compact:
            line.append(
                when[:5] + " ", style("timeline--pending" if entry.pending else "timeline--time")
            )
            # Joins, roles and lines like "bo asked for the production lock" name the person
            # already; the author again would read "bo bo asked".
            if entry.kind not in ("presence", "role") and not entry.text.startswith(
                f"{entry.author} "
            ):
                line.append(f"{entry.author} ", style("timeline--author"))
            line.append(("◷ " if entry.pending else "") + entry.text, text_style)
            return line
        # Each column carries its own trailing spaces: no segment starts with a blank.
        line.append(when + " ", style("timeline--pending" if entry.pending else "timeline--time"))
        line.append(f"{kind:<{KIND_WIDTH}} ", style("timeline--kind"))
        line.append(name + " ", style("timeline--author"))
        line.append(f"{tag:<{AUTHOR_WIDTH - cell_len(name) - 1}} ", style("timeline--time"))
        line.append(("◷ " if entry.pending else "") + entry.text, text_style)
        return line


def _presence(entries: list[Entry]) -> int:
    return sum(1 for e in entries if e.kind == PRESENCE)


def _time_tip(times: Times, at: datetime | None) -> str | None:
    """What hovering the timeline says about the highlighted row's time: the other clock."""
    if at is None:
        return None
    return f"Stored {times.everywhere(at)}"
