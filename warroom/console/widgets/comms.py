"""The comms pane: when the next stakeholder update is due, the updates sent, and their deliveries.

The comms lead lives here: ``i`` and ``e`` open the update template (internal or external),
prefilled from the incident; the preview shows the exact text before it is published. Every
published update is listed with where it was delivered; a failed delivery is retried with ``r``.
When an update deadline passes, the comms lead and the IC get a notification in this console
(everyone sees the overdue warning in the status bar).
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from warroom.console.clock_face import hm_zone
from warroom.console.css import tcss_beside
from warroom.console.widgets.pane import IncidentPane, Probe
from warroom.core.cadence import cadence_of, next_update_due
from warroom.core.comms import UpdateDeliveryRetried, UpdatePublished, may_publish
from warroom.core.comms_state import (
    Audience,
    Delivery,
    DeliveryStatus,
    StakeholderUpdate,
)
from warroom.core.roles import Role
from warroom.core.state import IncidentState
from warroom.core.status_page import PageLinkCreated

MARKS: dict[DeliveryStatus, str] = {
    DeliveryStatus.DELIVERED: "✓",
    DeliveryStatus.FAILED: "✗",
    DeliveryStatus.RETRYING: "↻",
}


def schedule_line(state: IncidentState) -> str:
    """The pane's headline: the deadline, the cadence behind it, missed deadlines so far."""
    if not state.declared:
        return ""
    due = next_update_due(state)
    cadence = cadence_of(state, state.severity)
    every = (
        f"{state.severity}: every {int(cadence.total_seconds() // 60)} min"
        if cadence
        else (f"{state.severity}: no fixed cadence")
    )
    missed = state.comms.overdue_count
    tail = f" · {missed} missed deadline{'s' if missed != 1 else ''}" if missed else ""
    if due is None:
        return f"No update scheduled ({every}){tail}"
    if state.comms.open_episode is not None:
        return f"⚠ Update OVERDUE since {hm_zone(due)} ({every}){tail}"
    first = "" if state.comms.updates else "First update"
    return f"{first or 'Next update'} due by {hm_zone(due)} ({every}){tail}"


def delivery_cell(deliveries: list[Delivery]) -> str:
    if not deliveries:
        return "—"
    return " ".join(f"{MARKS[d.status]} {d.target}" for d in deliveries)


def delivery_line(delivery: Delivery) -> str:
    tries = f"{delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}"
    if delivery.status == DeliveryStatus.DELIVERED:
        return f"✓ {delivery.target}: delivered ({tries})"
    if delivery.status == DeliveryStatus.RETRYING:
        return f"↻ {delivery.target}: retrying"
    return f"✗ {delivery.target}: FAILED after {tries}: {delivery.detail} — r retries"


class CommsPane(IncidentPane):
    """The schedule, the published updates, and the selected update's text and deliveries."""

    DEFAULT_CSS = tcss_beside(__file__)
    HELP = (
        "Stakeholder updates. The first is due 10 minutes after declaration, then by the "
        "severity's cadence, or earlier if an update promised it. The comms lead or the IC "
        "writes one from a template prefilled with confirmed facts only, previews the exact "
        "text and publishes it; the hub posts it to its webhooks and records each delivery."
    )
    BINDINGS = [
        Binding("i", "compose('internal')", "Internal update", id="comms.internal",
                tooltip="Write an update for the company, prefilled from the incident"),
        Binding("e", "compose('external')", "External update", id="comms.external",
                tooltip="Write an update for customers: confirmed facts only"),
        Binding("r", "retry", "Retry", id="comms.retry",
                tooltip="Post the selected update again to the targets where it failed"),
        Binding("l", "links", "Links", id="comms.links",
                tooltip="Share the status page in a browser: make or revoke page links"),
    ]  # fmt: skip

    def compose(self) -> ComposeResult:
        yield Label("", id="comms-schedule")
        yield Label("", id="comms-who")
        yield DataTable(id="comms-updates", cursor_type="row")
        with VerticalScroll(id="comms-detail"):
            yield Static("", id="comms-text")
            yield Static("", id="comms-deliveries")

    def on_mount(self) -> None:
        table = self.query_one("#comms-updates", DataTable)
        table.add_columns("#", "At", "Audience", "By", "Next by", "Delivery")
        super().on_mount()

    # --- rendering ----------------------------------------------------------------------------
    def render_state(self, state: IncidentState) -> None:
        schedule = self.query_one("#comms-schedule", Label)
        schedule.update(schedule_line(state))
        schedule.set_class(state.comms.open_episode is not None, "overdue")
        self.query_one("#comms-who", Label).update(self._who_line(state) + self._queued_note())
        table = self.query_one("#comms-updates", DataTable)
        selected = table.cursor_row
        table.clear()
        for update in reversed(state.comms.updates):
            table.add_row(
                str(update.number),
                hm_zone(update.at) if update.at else "—",
                update.audience.value,
                update.author,
                hm_zone(update.next_update_at) if update.next_update_at else "—",
                delivery_cell(state.comms.deliveries_of(update.update_id)),
                key=str(update.update_id),
            )
        if state.comms.updates:
            table.move_cursor(row=min(max(selected, 0), len(state.comms.updates) - 1))
        self._show_selected()

    def _queued_note(self) -> str:
        """Updates this console published while the link was down: not on the hub yet."""
        client = self.warroom.client
        queued = (
            [c for c in client.outbox.values() if isinstance(c, UpdatePublished)] if client else []
        )
        if not queued:
            return ""
        n = len(queued)
        return f"\n◷ {n} update{'s' if n != 1 else ''} queued: published when the link is back."

    def _who_line(self, state: IncidentState) -> str:
        if not state.declared:
            return ""
        if may_publish(state, self.me):
            return "i internal update · e external update · r retry a failed delivery · l links"
        comms = state.holder(Role.COMMS)
        lead = f"{comms} (comms lead)" if comms else f"{state.ic or 'the IC'} (IC)"
        return f"Updates are published by {lead}."

    def selected_update(self) -> StakeholderUpdate | None:
        table = self.query_one("#comms-updates", DataTable)
        if not self.state.comms.updates or table.row_count == 0:
            return None
        index = len(self.state.comms.updates) - 1 - table.cursor_row
        updates = self.state.comms.updates
        return updates[index] if 0 <= index < len(updates) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_selected()

    def _show_selected(self) -> None:
        update = self.selected_update()
        text = self.query_one("#comms-text", Static)
        lines = self.query_one("#comms-deliveries", Static)
        if update is None:
            text.update("No update has been published yet.")
            lines.update("")
            return
        when = hm_zone(update.at) if update.at else "—"
        heading = f"#{update.number} {update.audience.value} · {update.author} · {when}"
        text.update(f"[b]{_escape(heading)}[/b]\n{_escape(update.text)}")
        deliveries = self.state.comms.deliveries_of(update.update_id)
        lines.update(
            "\n".join(delivery_line(d) for d in deliveries) or "No webhook deliveries recorded."
        )

    # --- actions ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "compose":
            return self.allows(action) or None
        if action == "retry":
            return self.allows(action) or None
        if action == "links":
            return self.allows(action) or None
        return True

    def probe(self, action: str) -> Probe | None:
        if action == "compose":
            return UpdatePublished, {"audience": "internal", "text": "?"}
        if action == "links":
            return PageLinkCreated, {
                "link_id": "0" * 12,
                "digest": "0" * 64,
                "audience": "external",
            }
        if action == "retry":
            update = self.selected_update() if self.is_mounted else None
            failed = [
                d
                for d in (self.state.comms.deliveries_of(update.update_id) if update else ())
                if d.status == DeliveryStatus.FAILED
            ]
            if update is None or not failed:
                return None
            return UpdateDeliveryRetried, {
                "update_id": str(update.update_id),
                "target": failed[0].target,
            }
        return None

    def action_compose(self, audience: str) -> None:
        from warroom.console.screens.comms_form import UpdateForm

        self.app.push_screen(UpdateForm(Audience(audience)), self._published)

    def action_links(self) -> None:
        from warroom.console.screens.page_links import PageLinksForm

        self.app.push_screen(PageLinksForm())

    def _published(self, seq: int | None) -> None:
        from warroom.console.screens.board_form import QUEUED

        if seq == QUEUED:
            return  # queued for when the link is back; the form has said so
        if seq is not None:
            self.notify(f"Update published (#{seq} on the timeline).", timeout=4)

    def action_retry(self) -> None:
        update = self.selected_update()
        if update is None:
            return
        for delivery in self.state.comms.deliveries_of(update.update_id):
            if delivery.status == DeliveryStatus.FAILED:
                self.send(
                    UpdateDeliveryRetried, update_id=str(update.update_id), target=delivery.target
                )
        self.notify(f"Retrying the failed deliveries of update #{update.number}.", timeout=4)


def _escape(text: str) -> str:
    """Update text is shown as written, never read as markup."""
    return escape(text)
