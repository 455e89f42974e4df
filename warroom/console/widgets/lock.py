"""The lock pane: who may change production now, who waits, and what was changed.

It renders ``state.lock`` and ``state.actions`` and sends the lock's commands; whether a key is
offered comes from the same core rules the hub enforces (:mod:`warroom.core.lock`), so the pane
greys out what the hub would refuse. A refusal (the lease ended while a form was open, someone
else queued first) is shown where the user acted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from warroom.console.clock_face import hm
from warroom.console.css import tcss_beside
from warroom.console.redraw import show
from warroom.console.widgets.pane import IncidentPane, Probe
from warroom.core.actions import (
    ActionFinished,
    ActionStarted,
    may_finish,
    open_actions,
    undo_pending,
)
from warroom.core.events import EventBase
from warroom.core.lock import (
    LockForceReleased,
    LockHandedOver,
    LockReleased,
    LockRenewed,
    LockRequested,
    LockWithdrawn,
    expires_in,
    held_for,
    mm_ss,
    renewal_due,
    short_duration,
)
from warroom.core.production import (
    LEASE_END_WORDS,
    ActionOutcome,
    GrantVia,
    LockGrant,
    ProductionAction,
)
from warroom.core.state import IncidentState

OUTCOME_STYLE: dict[ActionOutcome, str] = {
    ActionOutcome.HELPED: "green",
    ActionOutcome.NO_CHANGE: "yellow",
    ActionOutcome.MADE_WORSE: "bold red",
    ActionOutcome.UNDONE: "dim",
}


def hhmm(at: datetime | None) -> str:
    return hm(at)


def lease_line(grant: LockGrant) -> Text:
    """One lease in the history: ``#2 cy 09:03–09:07 released (from the queue)``."""
    via = {GrantVia.REQUEST: "", GrantVia.QUEUE: " from queue", GrantVia.HANDOVER: " handed over"}
    end = hhmm(grant.ended_at) if grant.ended else "now"
    line = Text.assemble(
        (f"#{grant.token:<3}", "bold"),
        (f"{grant.holder:<10} ", ""),
        (f"{hhmm(grant.granted_at)}–{end:<5}", "dim"),
        (via[grant.via], "dim"),
    )
    if grant.ended is not None:
        line.append(f" {LEASE_END_WORDS[grant.ended]}")
        if grant.reason:
            line.append(f": {grant.reason}", "italic")
    return line


#: The actions table, most telling first so that a narrow console cuts the least useful:
#: (heading, the most room a column takes). ``None``: it shares what the others leave.
ACTION_COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("at", 5),
    ("outcome", 28),
    ("action", None),
    ("before → after", None),
    ("by", 10),
    ("#", 3),
)
#: DataTable pads every cell by one column on each side.
CELL_PADDING = 2


def action_outcome(action: ProductionAction) -> Text:
    """``open``, ``helped``, ``no change · undone``, ``made worse · undo pending``."""
    if action.outcome is None:
        return Text("open", "bold")
    outcome = Text(action.outcome.label, OUTCOME_STYLE[action.outcome])
    if action.wants_undo:
        outcome.append(" · undo pending", "bold red")
    elif action.undone_by is not None:
        outcome.append(" · undone", "dim")
    return outcome


def action_cells(action: ProductionAction) -> list[Text]:
    """One row of the actions table, in the order of ``ACTION_COLUMNS``."""
    what = f"{'undo: ' if action.undoes else ''}{action.kind.label} {action.target}"
    after = action.value_after or "…"
    return [
        Text(hhmm(action.started_at)),
        action_outcome(action),
        Text(what),
        Text.assemble(f"{action.value_before} → {after}", (f" · {action.metric}", "dim")),
        Text(action.by),
        Text(str(action.token)),
    ]


def action_column_widths(room: int, rows: list[list[Text]]) -> list[int]:
    """Widths that fit ``room`` columns: fixed ones as wide as their longest cell (up to their
    cap), the shared ones splitting what is left, so the outcome is never off-screen."""
    widths: list[int] = []
    for index, (label, cap) in enumerate(ACTION_COLUMNS):
        longest = max([len(label), *(row[index].cell_len for row in rows)])
        widths.append(min(longest, cap) if cap is not None else longest)
    shared = [i for i, (_, cap) in enumerate(ACTION_COLUMNS) if cap is None]
    fixed = sum(w for i, w in enumerate(widths) if i not in shared)
    left = room - fixed - CELL_PADDING * len(ACTION_COLUMNS)
    wanted = sum(widths[i] for i in shared)
    if wanted > left:
        for i in shared:
            least = len(ACTION_COLUMNS[i][0])
            widths[i] = max(least, left * widths[i] // max(wanted, 1))
    return widths


def fit(cell: Text, width: int) -> Text:
    """``cell`` cut to ``width`` with an ellipsis, rather than pushed off-screen."""
    if cell.cell_len <= width:
        return cell
    cut = cell.copy()
    cut.truncate(width, overflow="ellipsis")
    return cut


class LockPane(IncidentPane):
    """The production lock, its queue, its leases, and the actions made under it."""

    DEFAULT_CSS = tcss_beside(__file__)
    HELP: ClassVar[str] = (
        "One person at a time changes production. Ask for the lock with l; if someone holds it "
        "you join the queue. The holder starts each change with a (what, where, the metric to "
        "watch and its value now), records the value after with f, and renews with r before the "
        "lease runs out. The IC can force-release (F) or hand the lock over (h)."
    )
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {
            "request",
            "release",
            "leave_queue",
            "renew",
            "start_action",
            "finish_action",
            "undo_action",
            "force_release",
            "hand_over",
        }
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "l",
            "request",
            "Request lock",
            id="lock.request",
            tooltip="Ask for the production lock; join the queue if it is held",
        ),
        Binding(
            "x",
            "release",
            "Release",
            id="lock.release",
            tooltip="Give the lock up; the first in the queue gets it",
        ),
        Binding(
            "x",
            "leave_queue",
            "Leave queue",
            id="lock.leave_queue",
            tooltip="Stop waiting for the lock",
        ),
        Binding(
            "r",
            "renew",
            "Renew",
            id="lock.renew",
            tooltip="Extend your lease to a full time to live from now",
        ),
        Binding(
            "a",
            "start_action",
            "Action",
            id="lock.action",
            tooltip="Record a change to production, made under your lease",
        ),
        Binding(
            "f",
            "finish_action",
            "Finish",
            id="lock.finish",
            tooltip="Record the metric after the selected action, and whether it helped",
        ),
        Binding(
            "u",
            "undo_action",
            "Undo",
            id="lock.undo",
            tooltip="Undo the selected action that did not help",
        ),
        Binding(
            "F",
            "force_release",
            "Force release",
            id="lock.force",
            tooltip="IC: take the lock from its holder, with a reason",
        ),
        Binding(
            "h",
            "hand_over",
            "Hand over",
            id="lock.hand_over",
            tooltip="IC: give the lock to a named participant",
        ),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        #: The lease (token, deadline) we last offered to renew, so we offer it once.
        self._offered: tuple[int, datetime | None] | None = None
        #: What ``check_action`` said for each write action when the footer was last drawn.
        self._keys_offered: tuple[bool | None, ...] = ()
        #: The actions table's column widths as last laid out (they follow the pane's width).
        self._column_widths: list[int] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="lock-status")
        yield Static("", id="lock-hint")
        with Horizontal(id="lock-columns"):
            with Vertical(id="lock-queue-box"):
                yield Label("Queue", classes="lock-heading", id="lock-queue-heading")
                yield Static("", id="lock-queue")
            with Vertical(id="lock-leases-box"):
                yield Label("Leases", classes="lock-heading")
                yield Static("", id="lock-leases")
        yield Label("Actions", classes="lock-heading", id="lock-actions-heading")
        yield DataTable(id="lock-actions", cursor_type="row")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self._tick)

    # --- reading --------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.warroom.clock()

    @property
    def holding(self) -> bool:
        return self.state.lock.holder == self.me

    @property
    def queued(self) -> bool:
        return self.me in self.state.lock.queue

    def selected_action(self) -> ProductionAction | None:
        tables = self.query("#lock-actions").results(DataTable)
        table = next(tables, None)  # none while the pane is still being built, or taken down
        if table is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.state.actions.get(key or "")

    def _finishable(self) -> ProductionAction | None:
        """The action ``f`` records: the selected one if open, else the latest open one."""
        mine = [a for a in open_actions(self.state) if may_finish(self.state, self.me, a)]
        selected = self.selected_action()
        if selected is not None and selected in mine:
            return selected
        return mine[-1] if mine else None

    def _undoable(self) -> ProductionAction | None:
        """The action ``u`` undoes: the selected one, else the latest that did not help."""
        if not self.holding:
            return None
        selected = self.selected_action()
        if selected is not None and selected.wants_undo:
            return selected
        pending = undo_pending(self.state)
        return pending[-1] if pending else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what applies to this person now (others are hidden, so the footer stays
        short); the action form is shown greyed to all but the holder. The IC's overrides are
        shown to the IC alone."""
        allowed = super().check_action(action, parameters)
        if not allowed:
            return allowed
        lock = self.state.lock
        if action in ("force_release", "hand_over"):
            if not self.state.is_ic(self.me):
                return False  # the IC's overrides are shown to the IC alone
            if action == "force_release" and not lock.holder:
                return None
            return True if self.allows(action) else None
        applies = {
            "request": not self.holding and not self.queued,
            "release": self.holding,
            "leave_queue": self.queued,
            "renew": self.holding,
            "start_action": True,
            "finish_action": self._finishable() is not None,
            "undo_action": self._undoable() is not None,
        }.get(action)
        if applies is None:
            return True
        if not applies:
            return False
        return True if self.allows(action) else None

    def probe(self, action: str) -> Probe | type[EventBase] | None:
        if action == "start_action":
            placeholder = {f: "?" for f in ("target", "expected", "metric", "value_before")}
            return ActionStarted, {"token": self.state.lock.token, "kind": "rollback",
                                      **placeholder}  # fmt: skip
        lock = self.state.lock
        probes: dict[str, Probe] = {
            "request": (LockRequested, {}),
            "release": (LockReleased, {"token": lock.token}),
            "leave_queue": (LockWithdrawn, {}),
            "renew": (LockRenewed, {"token": lock.token}),
            "force_release": (LockForceReleased, {"token": lock.token, "reason": "?"}),
        }
        if action in probes:
            return probes[action]
        if action in ("finish_action", "undo_action", "hand_over"):
            # Their commands depend on what a form asks; their type-wide rules still apply.
            kinds: dict[str, type[EventBase]] = {"finish_action": ActionFinished,
                    "undo_action": ActionStarted, "hand_over": LockHandedOver}  # fmt: skip
            return kinds[action]
        return None

    # --- rendering ------------------------------------------------------------------------------
    def render_state(self, state: IncidentState) -> None:
        self._render_status(state)
        lock = state.lock
        queue = self.query_one("#lock-queue", Static)
        if lock.queue:
            lines = Text()
            for place, name in enumerate(lock.queue, 1):
                style = "bold" if name == self.me else ""
                lines.append(f"{place:>2}. {name}{'  (you)' if name == self.me else ''}\n", style)
            queue.update(lines)
        else:
            queue.update(Text("nobody waiting", "dim"))
        self.query_one("#lock-queue-heading", Label).update(f"Queue ({len(lock.queue)})")
        leases = Text("\n").join(lease_line(g) for g in reversed(lock.grants[-6:]))
        self.query_one("#lock-leases", Static).update(
            leases if lock.grants else Text("no lease yet", "dim")
        )
        self._render_actions(state)
        self._refresh_keys()

    def _render_status(self, state: IncidentState) -> None:
        lock, now = state.lock, self.now()
        status = self.query_one("#lock-status", Static)
        status.set_class(lock.holder is None, "free")
        status.set_class(lock.holder is not None, "held")
        status.set_class(self.holding, "mine")
        if lock.holder is None:
            show(status, Text.assemble(("FREE", "bold"), "  nobody may change production"))
        else:
            person = state.participants.get(lock.holder)
            offline = person is not None and not person.online
            show(
                status,
                Text.assemble(
                    ("HELD", "bold"),
                    "  by ",
                    (lock.holder, "bold"),
                    (" (offline)" if offline else "", "italic"),
                    f"  · token #{lock.token}",
                    f"  · held {short_duration(held_for(state, now) or timedelta(0))}",
                    f"  · ends in {mm_ss(expires_in(state, now) or timedelta(0))}",
                ),
            )
        show(self.query_one("#lock-hint", Static), self._hint(state, now))

    def _hint(self, state: IncidentState, now: datetime) -> Text:
        """What this person can do next, in words."""
        hint = self.query_one("#lock-hint", Static)
        due = renewal_due(state, self.me, now)
        hint.set_class(due, "renew-due")
        if self.read_only:
            return Text("You are observing: the lock is read-only for you.", "dim")
        if due:
            left = mm_ss(expires_in(state, now) or timedelta(0))
            return Text(f"Your lease ends in {left}: press r to renew it, x to release.")
        if self.holding:
            undo = undo_pending(state)
            if undo:
                return Text(f"'{undo[-1].target}' did not help: press u to undo it first.")
            return Text("You hold the lock: a records a change, f its result, x releases.")
        place = state.lock.position(self.me)
        if place is not None:
            return Text(f"You are number {place} in the queue; x leaves it.")
        if state.is_ic(self.me):
            return Text("Press l to ask for the lock, or h to hand it to someone.")
        return Text("Press l to ask for the lock.")

    def _render_actions(self, state: IncidentState) -> None:
        table = self.query_one("#lock-actions", DataTable)
        selected = table.cursor_row
        rows = [(key, action_cells(action)) for key, action in state.actions.items()]
        widths = action_column_widths(self._table_width(), [cells for _, cells in rows])
        if widths != self._column_widths:
            self._column_widths = widths
            table.clear(columns=True)
            for (label, _), width in zip(ACTION_COLUMNS, widths, strict=True):
                table.add_column(label, width=width)
        else:
            table.clear()
        for key, cells in rows:
            table.add_row(*(fit(cell, w) for cell, w in zip(cells, widths, strict=True)), key=key)
        self.query_one("#lock-actions-heading", Label).update(f"Actions ({len(state.actions)})")
        if table.row_count:
            table.move_cursor(row=min(selected, table.row_count - 1), animate=False)

    def _table_width(self) -> int:
        """The cells' room: the pane's width less its padding and each column's padding."""
        width = self.content_size.width or self.size.width
        return max(width, 40)

    def on_resize(self) -> None:
        if self.state.declared:
            self._render_actions(self.state)

    def _tick(self) -> None:
        """Move the countdowns, and offer renewal once per lease when it is due."""
        if not self.is_mounted or not self.state.declared:
            return
        self._render_status(self.state)
        lock, now = self.state.lock, self.now()
        lease = (lock.token, lock.expires_at)
        if renewal_due(self.state, self.me, now) and self._offered != lease:
            self._offered = lease
            left = mm_ss(expires_in(self.state, now) or timedelta(0))
            self.notify(
                f"Your lease on the production lock ends in {left}. Press r in the Lock pane "
                "to renew it.",
                title="Renew the lock?",
                severity="warning",
                timeout=20,
            )

    # --- acting ---------------------------------------------------------------------------------
    def _open(self, form: Screen[Any], then: Callable[[Any], None] | None = None) -> None:
        """Open a modal, and hand its result to ``then`` when it closes."""
        self.app.push_screen(form, then)

    def action_request(self) -> None:
        self.send(LockRequested)

    def action_release(self) -> None:
        if self.holding:
            self.send(LockReleased, token=self.state.lock.token)

    def action_leave_queue(self) -> None:
        if self.queued:
            self.send(LockWithdrawn)

    def action_renew(self) -> None:
        if self.holding:
            self.send(LockRenewed, token=self.state.lock.token)

    def action_start_action(self, undo: ProductionAction | None = None) -> None:
        from warroom.console.screens.lock_action import ActionForm

        if not self.holding:
            return
        self._open(ActionForm(token=self.state.lock.token, holder=self.me, undo=undo))

    def action_finish_action(self) -> None:
        from warroom.console.screens.lock_action import FinishForm

        action = self._finishable()
        if action is None:
            return
        self._open(FinishForm(action), self._after_finish)

    def _after_finish(self, finished: ProductionAction | None) -> None:
        """A mitigation that did not help is undone before the next one is tried: ask."""
        from warroom.console.screens.lock_undo import UndoPrompt

        if finished is not None and finished.wants_undo and self.holding:
            self._open(UndoPrompt(finished), self._after_prompt)

    def _after_prompt(self, undo: ProductionAction | None) -> None:
        if undo is not None:
            self.action_start_action(undo=undo)

    def action_undo_action(self) -> None:
        action = self._undoable()
        if action is not None:
            self.action_start_action(undo=action)

    def action_force_release(self) -> None:
        from warroom.console.screens.lock_ic import ForceReleaseForm

        if self.state.lock.holder is not None:
            self._open(ForceReleaseForm(self.state.lock))

    def action_hand_over(self) -> None:
        from warroom.console.screens.lock_ic import HandOverForm

        names = [
            p.name
            for p in self.state.participants.values()
            if not self.state.is_observer(p.name) and p.name != self.state.lock.holder
        ]
        self._open(HandOverForm(self.state.lock, names))

    @on(DataTable.RowHighlighted, "#lock-actions")
    def _selection_moved(self) -> None:
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        """Redraw the footer only when what is offered changed (redrawing it is not free)."""
        offered = tuple(self.check_action(action, ()) for action in sorted(self.WRITE_ACTIONS))
        if offered != self._keys_offered:
            self._keys_offered = offered
            self.refresh_bindings()
