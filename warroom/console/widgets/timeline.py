"""The timeline pane: the shared record of the incident, and the scribe's fast entry.

Every event appears here in order with the hub's time (on the console's clock: the person's time
zone, or UTC after ``U``), its author and role. Fast entry is
one key (n, f, c, d), the text, and Enter: the line shows at once marked pending and turns normal
when the hub acknowledges it; if the hub refuses it the message appears right under the timeline
and the text comes back for editing. Filters narrow by kind, author or words.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from warroom.console.css import tcss_beside
from warroom.console.redraw import show
from warroom.console.screens.timeline_correct import AmendForm, RedactForm, RetimeForm
from warroom.console.screens.timeline_versions import VersionsScreen
from warroom.console.widgets.pane import IncidentPane, Probe
from warroom.console.widgets.timeline_view import (
    Entry,
    HeldRoles,
    LogFollower,
    TimelineView,
    line_text,
)
from warroom.core.corrections import (
    Correction,
    EntryAmended,
    EntryRetimed,
    Retime,
    current_text,
    typed_apart,
)
from warroom.core.events import EventBase
from warroom.core.incident import NoteAdded, NoteKind
from warroom.core.protocol import Ack, Error
from warroom.core.redaction import EntryRedacted, Redaction
from warroom.core.state import IncidentState

ENTRY_LABELS: dict[str, str] = {
    NoteKind.NOTE: "Note",
    NoteKind.FINDING: "Finding",
    NoteKind.COMMAND: "Command run",
    NoteKind.DECISION_HEARD: "Decision heard",
}
ENTRY_HINTS: dict[str, str] = {
    NoteKind.NOTE: "what happened",
    NoteKind.FINDING: "what we found out",
    NoteKind.COMMAND: "the command someone ran, and where",
    NoteKind.DECISION_HEARD: "the decision as it was said",
}

#: The binding ids of the keys that open the entry line, in the hint's order.
ENTRY_KEYS = ("timeline.note", "timeline.finding", "timeline.command", "timeline.decision_heard")
#: The keys that narrow the record, named in the hint (the footer leaves k and a out).
FILTER_KEYS = {"timeline.search": "search", "timeline.kind": "kind", "timeline.author": "author"}

#: What an entry was last drawn with: its amendments, retimes and redaction.
Fixes = tuple[tuple[Correction, ...] | None, tuple[Retime, ...] | None, Redaction | None]


class TimelinePane(IncidentPane):
    """The record, newest at the bottom, following new entries until you scroll away."""

    DEFAULT_CSS = tcss_beside(__file__)
    HELP = (
        "The shared record: every event in order, with the hub's time (in your time zone; U "
        "shows UTC), author and role. "
        "Add a line with one key, type it, press Enter; it shows as pending (◷) until the hub "
        "has stored it. Up/Down/PgUp/PgDn/Home move through it; End follows the newest again; "
        "Enter shows the highlighted entry in full. Who joined and who went offline is folded "
        "away (the room's online list shows who is here): p shows it, p again folds it. "
        "Nothing is ever edited in place: e amends the highlighted entry (its author, the scribe "
        "or the IC, with a reason) and the timeline shows the new text marked ✎; t retimes it to "
        "when it really happened (scribe or IC), shown ↶; v shows every version and time; x "
        "redacts it (IC or scribe): a pasted secret is removed from the record for good and "
        "the entry reads [redacted by who: why]. An "
        "entry typed well before the hub received it (offline) shows both times (◷ typed ..., "
        "received ...)."
    )
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"entry", "amend", "retime", "redact"})
    #: Keys about the highlighted row: offered only when the row is something they apply to.
    ROW_ACTIONS: ClassVar[dict[str, type[EventBase]]] = {
        "amend": EntryAmended,
        "retime": EntryRetimed,
        "redact": EntryRedacted,
    }

    BINDINGS = [
        Binding("n", "entry('note')", "Note", id="timeline.note", tooltip="Add a note"),
        Binding("f", "entry('finding')", "Finding", id="timeline.finding",
                tooltip="Record a finding: something now known"),
        Binding("c", "entry('command')", "Ran", id="timeline.command",
                tooltip="Record a command someone ran"),
        Binding("d", "entry('decision_heard')", "Heard", id="timeline.decision_heard",
                tooltip="Record a decision heard on the call"),
        Binding("slash", "search", "Search", id="timeline.search",
                tooltip="Show only entries containing some words"),
        Binding("k", "cycle_kind", "Kind", id="timeline.kind", show=False,
                tooltip="Filter by kind: one kind at a time, press again for the next"),
        Binding("a", "cycle_author", "Author", id="timeline.author", show=False,
                tooltip="Filter by author: one person at a time, press again for the next"),
        # Not in the footer (at 80 columns it would push Help off): the header line names it.
        Binding("p", "toggle_presence", "Joins", id="timeline.presence", show=False,
                tooltip="Show or fold away who joined and who went offline"),
        Binding("end", "jump_end", "End", id="timeline.end",
                tooltip="Jump to the newest entry and follow new ones"),
        Binding("enter", "detail", "Read", show=False, id="timeline.detail",
                tooltip="Show the highlighted entry in full (Enter again hides it)"),
        Binding("e", "amend", "Amend", show=False, id="timeline.amend",
                tooltip="Amend the highlighted entry, with a reason (author, scribe or IC)"),
        Binding("t", "retime", "Retime", show=False, id="timeline.retime",
                tooltip="Say when the highlighted entry really happened (scribe or IC)"),
        Binding("v", "versions", "Versions", show=False, id="timeline.versions",
                tooltip="Every version and time of the highlighted entry"),
        Binding("x", "redact", "Redact", show=False, id="timeline.redact",
                tooltip="Remove a pasted secret from the record for good (IC or scribe)"),
        Binding("escape", "escape", "Cancel / clear filters", show=False, id="timeline.escape"),
    ]  # fmt: skip

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._follower = LogFollower()
        self._roles = HeldRoles()
        self._kinds: dict[str, None] = {}
        self._authors: dict[str, None] = {}
        self.entry_kind: str = NoteKind.NOTE
        #: The corrections, retimes and redaction each drawn entry was last drawn with, by seq.
        self._fixes: dict[int, Fixes] = {}

    def compose(self) -> ComposeResult:
        yield Label("", id="timeline-header")
        yield TimelineView(id="timeline-view")
        yield Static("", id="timeline-detail")
        # One line that is always there: the entry line, the search line, or (while neither is
        # open) a hint of the keys. Opening or closing one then moves nothing else on screen,
        # so the timeline is neither laid out nor repainted whole for that key (issue 24).
        with Vertical(id="timeline-line"):
            with Horizontal(id="timeline-entry"):
                yield Label("Note ›", id="entry-kind")
                yield Input(id="entry-input", compact=True, max_length=4000)
            with Horizontal(id="timeline-search"):
                yield Label("Search ›", id="search-label")
                yield Input(id="search-input", compact=True, placeholder="words; Esc clears")
            yield Label("", id="timeline-hint")
        yield Label("", id="entry-message")

    def on_mount(self) -> None:
        blink = getattr(self.app, "blink", True)
        for field in self.query(Input):
            field.cursor_blink = blink
        self.view.on_rows_changed = self._update_header
        self.view.on_jump = self._update_header
        self.view.on_cursor = self._update_detail
        self.view.on_top = self._ask_older
        super().on_mount()

    @property
    def view(self) -> TimelineView:
        return self.query_one(TimelineView)

    # --- rendering ----------------------------------------------------------------------------
    def times_changed(self) -> None:
        self._follower = LogFollower()  # every line is drawn again, on the new clock
        super().times_changed()

    def render_state(self, state: IncidentState) -> None:
        view = self.view
        restart, older, newer = self._follower.changes(self.incident_log, self.incident_log_epoch)
        if restart:  # a snapshot: the console started over from the hub's state
            self._fixes = {}
            self._roles = HeldRoles()
            self._kinds.clear()
            self._authors.clear()
            view.replace([])
        if older:  # a page of history, asked for when the reader reached the top
            view.prepend(self._entries(older, HeldRoles(), state, front=True))
        new = self._entries(newer, self._roles, state)
        if new:
            view.append(new)
        self._retext(state)
        client = self.warroom.client
        outbox = list(client.outbox.values()) if client is not None else []
        role = state.role_of(self.me, self.seat)
        view.set_pending(
            [Entry.of(draft, author=self.me, role=role, times=self.times) for draft in outbox]
        )
        self._update_header()
        if view.follow and len(view.rows) < view.scrollable_content_region.height:
            self._ask_older()  # the screen is not full yet: show what came before the tail

    def _entries(
        self, events: list[EventBase], roles: HeldRoles, state: IncidentState, front: bool = False
    ) -> list[Entry]:
        """Entries for ``events``; the kind and author filters cycle in the record's order
        (older entries' kinds and authors go in front)."""
        out = []
        for event in events:
            entry = Entry.of(event, state=state, times=self.times)
            out.append(replace(entry, role=roles.role_for(event, entry.role)))
        kinds = dict.fromkeys(e.kind for e in out)
        authors = dict.fromkeys(e.author for e in out)
        if front:
            self._kinds = {**kinds, **self._kinds}
            self._authors = {**authors, **self._authors}
        else:
            self._kinds = {**self._kinds, **kinds}
            self._authors = {**self._authors, **authors}
        return out

    def _ask_older(self) -> None:
        """The reader reached the oldest entry held: ask the hub for the page before it."""
        if self.warroom.ask_older_entries():
            self._update_header()

    def _update_header(self) -> None:
        view = self.view
        shown = len(view.rows) - len(view.pending)
        total = len(view.entries)
        parts = [f"{total:,} entries" if shown == total else f"{shown:,} of {total:,} entries"]
        times = self.times
        if not times.local_is_utc:  # someone whose clock is UTC needs no reminder
            zone = times.abbrev(self.warroom.clock())
            parts.append(f"{zone} · U {'local' if times.utc else 'UTC'}")
        if view.kind:
            parts.append(f"kind: {view.kind.replace('_', ' ')}")
        if view.author:
            parts.append(f"author: {view.author}")
        if view.words:
            parts.append(f"search: {view.words}")
        if view.pending:
            parts.append(f"◷ {len(view.pending)} pending")
        if folded := view.folded:
            parts.append(f"{folded:,} joins folded · p shows")
        elif view.show_presence:
            parts.append("joins shown · p folds")
        parts.append("following" if view.follow else "scrolled back · End follows")
        if self.read_only:
            parts.append("read-only")
        # One line across the pane: its size never depends on its text.
        show(self.query_one("#timeline-header", Label), " · ".join(parts), layout=False)
        self._update_hint()

    def _update_hint(self) -> None:
        """The line under the timeline while nothing is typed there: the keys that add a line
        (not to a reader) and those that narrow the record, which the footer leaves out."""
        keys = self._keys()
        parts = []
        if not self.read_only:
            adding = [keys[i] for i in ENTRY_KEYS if i in keys]
            if adding:
                parts.append(f"{' '.join(adding)} add a line")
        parts += [f"{keys[i]} {what}" for i, what in FILTER_KEYS.items() if i in keys]
        view = self.view
        parts.append("Esc clears filters" if view.kind or view.author or view.words
                     else "Enter reads an entry")  # fmt: skip
        # One line across the pane, like the header.
        show(self.query_one("#timeline-hint", Label), " · ".join(parts), layout=False)

    def _keys(self) -> dict[str, str]:
        """The key shown for each of this pane's binding ids (the user's ``[keys]`` applied)."""
        keys: dict[str, str] = {}
        for bindings in self._bindings.key_to_bindings.values():
            for binding in bindings:
                if binding.id and binding.id not in keys:
                    keys[binding.id] = self.app.get_key_display(binding)
        return keys

    # --- fast entry ---------------------------------------------------------------------------
    def action_entry(self, kind: str, text: str = "") -> None:
        if self.read_only:
            return
        self.entry_kind = kind
        self._close_search()
        self.query_one("#entry-kind", Label).update(f"{ENTRY_LABELS.get(kind, kind)} ›")
        field = self.query_one("#entry-input", Input)
        field.placeholder = f"{ENTRY_HINTS.get(kind, '')} — Enter posts, Esc cancels"
        field.value = text
        self._open_line("timeline-entry")
        field.focus()

    @on(Input.Submitted, "#entry-input")
    def _post_entry(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self._close_entry()
            return
        kind = self.entry_kind
        # When the person pressed Enter, by this console's clock: kept in the outbox with the
        # entry, so a line typed offline keeps its time however late the hub receives it.
        future = self.send(NoteAdded, text=text, kind=kind, noted_at=self.warroom.clock())
        if future is None:
            return  # did not validate; the reason is on screen and the text stays
        self._set_message("")
        future.add_done_callback(lambda f: self._restore_if_refused(f, kind, text))
        self._close_entry()
        self.view.jump_to_end()

    def _restore_if_refused(
        self, future: asyncio.Future[Ack | Error], kind: str, text: str
    ) -> None:
        if not future.cancelled() and isinstance(future.result(), Error) and self.is_attached:
            self.action_entry(kind, text)

    def show_refusal(self, error: Error) -> None:
        self._set_message(f"The hub refused: {error.message}")

    def _set_message(self, text: str) -> None:
        label = self.query_one("#entry-message", Label)
        # Most Enters and Escapes clear a message that is not there: that asks for no layout.
        show(label, text)
        if label.display != bool(text):
            label.display = bool(text)

    def _close_entry(self, back_to_timeline: bool = True) -> None:
        if self.query_one("#timeline-entry").display:
            self._open_line("timeline-hint")
        self.query_one("#entry-input", Input).value = ""
        if back_to_timeline:
            self.view.focus()

    def _open_line(self, line: str) -> None:
        """Show ``line`` (the entry line, the search line or the hint) in the line under the
        timeline, in place of whichever was there: the line keeps its one row either way."""
        for child in self.query_one("#timeline-line").children:
            child.display = child.id == line

    # --- filters ------------------------------------------------------------------------------
    def action_cycle_kind(self) -> None:
        view = self.view
        view.set_filter(_next(list(self._kinds), view.kind), view.author, view.words)

    def action_cycle_author(self) -> None:
        view = self.view
        view.set_filter(view.kind, _next(list(self._authors), view.author), view.words)

    def action_search(self) -> None:
        self._close_entry(back_to_timeline=False)  # the search line takes the focus
        self._open_line("timeline-search")
        field = self.query_one("#search-input", Input)
        field.value = self.view.words
        field.focus()

    @on(Input.Changed, "#search-input")
    def _search_changed(self, event: Input.Changed) -> None:
        view = self.view
        view.set_filter(view.kind, view.author, event.value)

    @on(Input.Submitted, "#search-input")
    def _search_done(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_search()
        self.view.focus()

    def _close_search(self) -> None:
        if self.query_one("#timeline-search").display:
            self._open_line("timeline-hint")

    def action_toggle_presence(self) -> None:
        view = self.view
        view.set_show_presence(not view.show_presence)
        self._update_header()

    def action_jump_end(self) -> None:
        self.view.jump_to_end()
        self.view.focus()
        self._update_header()

    # --- reading one entry --------------------------------------------------------------------
    def action_detail(self) -> None:
        detail = self.query_one("#timeline-detail", Static)
        detail.display = not detail.display
        self._update_detail()

    def _update_detail(self) -> None:
        self.refresh_bindings()  # what e, t and v offer depends on the highlighted row
        detail = self.query_one("#timeline-detail", Static)
        entry = self.view.current
        if not detail.display or entry is None:
            return
        when = self.times.everywhere(entry.at) if entry.at else "pending"
        head = Text(f"{when} · {entry.kind.replace('_', ' ')} · {entry.author} ({entry.role})\n",
                    style="bold")  # fmt: skip
        event = self.event_of(entry.seq) if entry.seq is not None else None
        more = ""
        if event is not None and self._has_story(event):
            more = "\nv shows every version and time"
        detail.update(head + Text(entry.text) + Text(more, style="italic"))

    # --- putting an entry right ----------------------------------------------------------------
    def _retext(self, state: IncidentState) -> None:
        """Redraw the entries whose corrections changed since they were drawn (an amendment
        or a retime arrived). Compared with the state itself, not with the new events, so an
        entry is put right however the log and the state reach this pane."""
        fixes = {
            seq: (state.corrections.get(seq), state.retimes.get(seq), state.redactions.get(seq))
            for seq in {*state.corrections, *state.retimes, *state.redactions}
        }
        changed = [seq for seq, fix in fixes.items() if self._fixes.get(seq) != fix]
        self._fixes = fixes
        if not changed:
            return
        # A redacted entry's amendments are rows of their own, rewritten with it.
        changed += [c.seq for seq in changed if seq in state.redactions
                    for c in state.corrections.get(seq, ())]  # fmt: skip
        found = (self.event_of(seq) for seq in changed)
        self.view.retext({e.seq: line_text(e, state, self.times) for e in found if e is not None})
        self.refresh_bindings()

    def event_of(self, seq: int) -> EventBase | None:
        """The stored event ``seq`` (the log is in seq order, usually from seq 1)."""
        log = self.incident_log
        if 0 < seq <= len(log) and log[seq - 1].seq == seq:
            return log[seq - 1]
        return next((e for e in reversed(log) if e.seq == seq), None)

    def _row_event(self) -> EventBase | None:
        entry = self.view.current if self.is_mounted else None
        if entry is None or entry.seq is None:
            return None
        return self.event_of(entry.seq)

    def _redacted_event(self) -> EventBase | None:
        """The entry ``x`` redacts: the highlighted one, or the one an amendment row amends
        (the secret is in both, and redacting the entry blanks its amendments too)."""
        event = self._row_event()
        if isinstance(event, EntryAmended):
            return self.event_of(event.entry)
        return event

    def probe(self, action: str) -> Probe | None:
        command = self.ROW_ACTIONS.get(action)
        event = self._redacted_event() if action == "redact" else self._row_event()
        if command is None or event is None:
            return None
        # The console holds the entry, so it names it as the hub's lookup will.
        named = {"entry": event.seq, "entry_type": event.type, "entry_author": event.actor}
        if command is EntryAmended:
            return EntryAmended, {**named, "text": "…", "reason": "…"}
        if command is EntryRedacted:
            return EntryRedacted, {**named, "reason": "…"}
        happened = event.at or self.warroom.clock()
        return EntryRetimed, {**named, "happened_at": happened, "reason": "…"}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        if action == "versions":
            return self._row_event() is not None
        if action not in self.ROW_ACTIONS:
            return True
        if self._row_event() is None:
            return False  # no stored entry highlighted (none yet, or a pending one)
        return True if self.allows(action) else None

    def _has_story(self, event: EventBase) -> bool:
        state = self.state
        return event.seq in state.corrections or event.seq in state.retimes or typed_apart(event)

    def action_amend(self) -> None:
        event = self._row_event()
        if event is None or not self.allows("amend"):
            return
        current = current_text(self.state, event.seq, event.amendable_text())
        self.app.push_screen(AmendForm(event, current), self._back)

    def action_redact(self) -> None:
        event = self._redacted_event()
        if event is None or not self.allows("redact"):
            return
        self.app.push_screen(RedactForm(event, self.entry_text(event)), self._back)

    def entry_text(self, event: EventBase) -> str:
        """What the entry says now (its last amendment, or what it was written with)."""
        return line_text(event, self.state, self.times)

    def action_retime(self) -> None:
        event = self._row_event()
        if event is None or not self.allows("retime"):
            return
        self.app.push_screen(RetimeForm(event, self.state), self._back)

    def _back(self, _: int | None) -> None:
        self.view.focus()

    def action_versions(self) -> None:
        event = self._row_event()
        if event is not None:
            self.app.push_screen(VersionsScreen(event, self.state))

    def action_escape(self) -> None:
        """Close what is open, else clear the filters."""
        if self.query_one("#timeline-entry").display:
            self._close_entry()
        elif self.query_one("#timeline-detail").display:
            self.query_one("#timeline-detail").display = False
        elif self.query_one("#timeline-search").display:
            self._close_search()
            self.view.set_filter(self.view.kind, self.view.author, "")
            self.view.focus()
        else:
            self.view.set_filter(None, None, "")
            self._set_message("")


def _next(options: list[str], current: str | None) -> str | None:
    """The option after ``current``; after the last one, ``None`` (show everything)."""
    if current is None:
        return options[0] if options else None
    try:
        index = options.index(current)
    except ValueError:
        return None
    return options[index + 1] if index + 1 < len(options) else None
