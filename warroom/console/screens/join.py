"""The join screen: the hub's open incidents, to follow one or declare a new one.

The list comes from the hub's ``GET /incidents`` in a worker (the screen never blocks on the
network) and refreshes by itself every few seconds, so an incident a teammate just declared
appears without a key press. Under it, the firing alert groups no incident has yet (the hub's
``GET /alerts``, refreshed with it): one key declares an incident from the highlighted group,
another attaches it to an open incident, a third dismisses it with a reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from warroom.client.alert_groups import list_alert_groups
from warroom.client.lobby import HubRefused, HubUnreachable, list_incidents
from warroom.console.app import WarroomApp
from warroom.console.cells import fit
from warroom.console.widgets.footer import CalmFooter
from warroom.console.widgets.status_bar import elapsed
from warroom.core.incident import drill_title
from warroom.core.roles import ROLE_TITLES, Role


def parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


class JoinScreen(Screen[None]):
    """Pick an incident with the arrows and Enter, or press n to declare one."""

    CSS_PATH = "join.tcss"
    #: Keys typed behind ``n`` or a severity digit go to the declaration (``keys_in_order``).
    KEYS_WAIT_FOR_BINDINGS = True
    BINDINGS = [
        Binding("enter", "join", "Join", id="join.join", tooltip="Follow the selected incident"),
        Binding("n", "declare", "Declare new", id="join.declare",
                tooltip="Declare a new incident with the declaration template"),
        *[
            Binding(str(level), f"declare('SEV{level}')", f"Declare SEV{level}", show=False,
                    id=f"join.declare_sev{level}",
                    tooltip=f"Declare a new SEV{level} incident: the template opens on SEV{level}")
            for level in range(1, 5)
        ],
        Binding("r", "refresh", "Refresh", id="join.refresh",
                tooltip="Ask the hub for its incidents again"),
        Binding("d", "declare_from_alert", "From alert", id="join.declare_alert",
                tooltip="Declare an incident from the highlighted alert group, prefilled"),
        Binding("a", "attach_alert", "Attach", id="join.attach_alert",
                tooltip="Attach the highlighted alert group to an open incident"),
        Binding("x", "dismiss_alert", "Dismiss", id="join.dismiss_alert",
                tooltip="Dismiss the highlighted alert group, with a reason"),
    ]  # fmt: skip
    ALERT_ACTIONS = frozenset({"declare_from_alert", "attach_alert", "dismiss_alert"})

    def __init__(self) -> None:
        super().__init__()
        self.incidents: list[dict[str, Any]] = []
        #: Firing alert groups not tied to an incident nor dismissed (``GET /alerts``).
        self.alert_groups: list[dict[str, Any]] = []
        #: What the message line says about the incidents (the alerts' keys follow it).
        self.incidents_hint = ""

    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.warroom
        who = f"{app.me} · {ROLE_TITLES[app.seat].lower()}"
        yield Static(f"[b]warroom[/b] · {app.hub_label} · you join as {who}", id="join-who")
        if app.share_hint:
            yield Static(f"Teammates join with:  [b]{app.share_hint}[/b]", id="join-share")
        yield Label("Open incidents", classes="join-heading")
        yield DataTable(id="incidents", cursor_type="row", zebra_stripes=True)
        yield Label("Firing alerts, no incident yet", classes="join-heading", id="alerts-heading")
        yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield Label("Asking the hub for its incidents…", id="join-message")
        yield CalmFooter()

    def on_mount(self) -> None:
        self._add_columns(self.query_one("#incidents", DataTable), [])
        self._show_alert_table(False)
        self.action_refresh()
        if self.warroom.lobby_refresh > 0:
            self.set_interval(self.warroom.lobby_refresh, self.action_refresh)

    @staticmethod
    def _add_columns(table: DataTable[Any], cells: list[tuple[Any, ...]]) -> None:
        """The columns, each as wide as its widest cell: given up front, so the header is drawn
        with the same widths as the rows. Left to the table, the widths grew as the rows came
        and the header could stay drawn with the narrower ones (seen after ctrl+l, and in a
        snapshot with the alert list beside it)."""
        columns = (("Sev", "sev"), ("Id", "id"), ("Title", "title"), ("Phase", "phase"),
                   ("Age", "age"), ("Online", "people"), ("IC", "ic"))  # fmt: skip
        for index, (label, key) in enumerate(columns):
            width = max([cell_len(label), *(_width(row[index]) for row in cells)])
            table.add_column(label, key=key, width=4 if key == "sev" else width)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "declare" and self.warroom.seat == Role.OBSERVER:
            return False  # observers cannot declare; the key is not offered
        if action in self.ALERT_ACTIONS:
            # Observers write nothing (the core's rule for every command): not offered.
            return bool(self.alert_groups) and self.warroom.seat != Role.OBSERVER
        if action == "join":
            return bool(self.incidents) or None
        return True

    # --- loading ------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.load_incidents()
        self.load_alert_groups()

    @work(exclusive=True, group="lobby")
    async def load_incidents(self) -> None:
        app = self.warroom
        try:
            rows = await list_incidents(
                app.url, app.token, join_code=app.join_code, cafile=app.cafile
            )
        except HubRefused as exc:
            self._show_message(f"The hub refused the list: {exc}", error=True)
            return
        except (HubUnreachable, OSError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, HubUnreachable) else type(exc).__name__
            self._show_message(
                f"Cannot reach the hub at {app.hub_label} ({reason}). "
                "Is it running? Press r to try again.",
                error=True,
            )
            return
        self.show_incidents(rows)

    @work(exclusive=True, group="lobby-alerts")
    async def load_alert_groups(self) -> None:
        """The firing groups, read beside the incidents (never holding their list up); if they
        cannot be read, the list keeps the groups it last had."""
        app = self.warroom
        if app.join_code:  # a join code's guest sees one incident, never the hub's alerts
            return
        with contextlib.suppress(HubRefused, HubUnreachable, OSError, ValueError):
            self.show_alert_groups(await list_alert_groups(app.url, app.token, cafile=app.cafile))

    def show_incidents(self, rows: list[dict[str, Any]]) -> None:
        table = self.query_one("#incidents", DataTable)
        selected = self._selected_id()
        self.incidents = rows
        # Columns are laid out again with the rows: widths measured on an older list left the
        # header out of line with the rows (seen after ctrl+l).
        table.clear(columns=True)
        now = self.warroom.clock()
        cells = [self._cells(row, now) for row in rows]
        self._add_columns(table, cells)
        for row, row_cells in zip(rows, cells, strict=True):
            table.add_row(*row_cells, key=str(row.get("id")))
        if selected is not None and any(str(r.get("id")) == selected for r in rows):
            table.move_cursor(row=table.get_row_index(selected))
        if rows:
            self.incidents_hint = "Enter joins the highlighted incident; n declares a new one."
        elif self.warroom.seat == Role.OBSERVER:
            self.incidents_hint = "No open incidents on this hub. Observers cannot declare one."
        else:
            self.incidents_hint = "No open incidents on this hub. Press n to declare one."
        self._show_hint()
        self.refresh_bindings()

    def _cells(self, row: dict[str, Any], now: datetime) -> tuple[Any, ...]:
        sev = str(row.get("severity", "?"))
        colour = self.app.theme_variables.get(sev.lower(), "")
        detected = parse_time(row.get("detected_at")) or parse_time(row.get("declared_at"))
        age = elapsed(now - detected) if detected else "—"
        people = f"{row.get('online', 0)} of {row.get('participants', 0)}"
        title = drill_title(str(row.get("title", "")), bool(row.get("drill")))
        return (Text(sev, style=f"bold {colour}"), str(row.get("id")), title,
                str(row.get("phase", "")), age, people, str(row.get("ic") or "—"))  # fmt: skip

    # --- alert groups -------------------------------------------------------------------------
    def _show_alert_table(self, shown: bool) -> None:
        self.query_one("#alerts-heading").display = shown
        self.query_one("#alerts").display = shown

    def show_alert_groups(self, groups: list[dict[str, Any]]) -> None:
        """The firing groups, severity first as the hub's label mapping gives it."""
        table = self.query_one("#alerts", DataTable)
        selected = self.selected_group()
        groups = sorted(groups, key=_worst_first)
        self.alert_groups = groups
        table.clear(columns=True)
        # The summary and the scope share what the fixed columns leave, so a row fits the
        # terminal (80 columns too) without a sideways scroll; cut text ends with an ellipsis.
        rest = max(self.size.width - 2 - (4 + 12 + 6 + 5) - 2 * 6, 20)
        longest = max((len(str(g.get("summary", ""))) for g in groups), default=0)
        summary_width = max(min(rest * 3 // 5, longest), min(12, rest // 2), 7)
        widths = {"sev": 4, "summary": summary_width, "scope": rest - summary_width}
        for label, key in (("Sev", "sev"), ("Source", "source"), ("Summary", "summary"),
                           ("Firing", "firing"), ("Since", "since"), ("Scope", "scope")):  # fmt: skip
            table.add_column(label, key=key, width=widths.get(key))
        now = self.warroom.clock()
        for group in groups:
            cells = list(self._group_cells(group, now))
            cells[2] = fit(cells[2], widths["summary"])
            cells[5] = fit(cells[5], widths["scope"])
            table.add_row(*cells, key=str(group.get("id")))
        if selected is not None and any(g.get("id") == selected.get("id") for g in groups):
            table.move_cursor(row=table.get_row_index(str(selected.get("id"))))
        self._show_alert_table(bool(groups))
        if self.incidents_hint:  # the incidents were listed: say what the keys do
            self._show_hint()
        self.refresh_bindings()

    def _show_hint(self) -> None:
        hint = self.incidents_hint
        if self.alert_groups and self.warroom.seat != Role.OBSERVER:
            hint += (
                " Alerts: d declares from the highlighted group, a attaches it to an incident, "
                "x dismisses it."
            )
        self._show_message(hint)

    def _group_cells(self, group: dict[str, Any], now: datetime) -> tuple[Any, ...]:
        sev = str(group.get("severity") or "—")
        colour = self.app.theme_variables.get(sev.lower(), "")
        started = parse_time(group.get("starts_at"))
        since = elapsed(now - started) if started else "—"
        firing = f"{group.get('firing', 0)} of {group.get('firing', 0) + group.get('resolved', 0)}"
        return (Text(sev, style=f"bold {colour}"), str(group.get("source", "")),
                str(group.get("summary", "")), firing, since, str(group.get("scope", "")))  # fmt: skip

    def selected_group(self) -> dict[str, Any] | None:
        table = self.query_one("#alerts", DataTable)
        if not self.alert_groups or table.cursor_row >= len(self.alert_groups):
            return None
        return self.alert_groups[table.cursor_row]

    def action_declare_from_alert(self) -> None:
        from warroom.console.screens.alert_forms import AlertDeclareScreen, follow_and_attach

        def declared(group: dict[str, Any], incident: str | None) -> None:
            if incident:
                follow_and_attach(self.warroom, incident, group)

        self._open_for_group(AlertDeclareScreen, declared)

    def action_attach_alert(self) -> None:
        from warroom.console.screens.alert_forms import AttachGroupForm

        self._open_for_group(lambda group: AttachGroupForm(group, self.incidents))

    def action_dismiss_alert(self) -> None:
        from warroom.console.screens.alert_forms import DismissGroupForm

        def dismissed(_: dict[str, Any], done: int | None) -> None:
            if done:
                self.action_refresh()

        self._open_for_group(DismissGroupForm, dismissed)

    def _open_for_group(
        self,
        form: Callable[[dict[str, Any]], Screen[Any]],
        then: Callable[[dict[str, Any], Any], None] | None = None,
    ) -> None:
        """Open ``form`` on the highlighted group; ``then`` gets the group and what it returns."""
        group = self.selected_group()
        if group is None:
            return

        def done(result: Any) -> None:
            if then is not None:
                then(group, result)

        self.app.push_screen(form(group), done)

    def _selected_id(self) -> str | None:
        table = self.query_one("#incidents", DataTable)
        if not self.incidents or table.cursor_row >= len(self.incidents):
            return None
        return str(self.incidents[table.cursor_row].get("id"))

    def _show_message(self, text: str, error: bool = False) -> None:
        label = self.query_one("#join-message", Label)
        label.update(text)
        label.set_class(error, "error")

    # --- acting -------------------------------------------------------------------------------
    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "alerts":
            self.action_declare_from_alert()  # enter on a group: declare from it
        else:
            self.action_join()

    def action_join(self) -> None:
        incident = self._selected_id()
        if incident is not None:
            self.warroom.join_incident(incident)

    def action_declare(self, severity: str | None = None) -> None:
        from warroom.console.screens.declare import DeclareScreen

        def declared(incident: str | None) -> None:
            if incident:
                self.warroom.join_incident(incident)

        self.app.push_screen(DeclareScreen(severity), declared)


def _worst_first(group: dict[str, Any]) -> tuple[str, str]:
    """The most severe group first (one the mapping gives no severity last), then the oldest."""
    return (str(group.get("severity") or "SEV9"), str(group.get("starts_at") or ""))


def _width(cell: object) -> int:
    """Cells a value takes in the table (a styled ``Text`` or a plain string)."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))
