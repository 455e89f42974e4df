"""What the incident list does with a firing alert group: declare an incident from it (the
declaration template, prefilled), attach it to an open incident, or dismiss it with a reason.

Declaring and attaching end in the incident: the console follows it and sends
``alert_group_attached`` as its first command there (the declarer is the new IC; attaching to an
existing incident is its IC's to do, and the hub says so to anyone else). A dismissal is sent on
a short connection of its own, since it belongs to no incident.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from warroom.client.alert_groups import dismiss_group, dismissal
from warroom.client.lobby import HubRefused, HubUnreachable
from warroom.console.app import WarroomApp
from warroom.console.screens.board_form import CommandForm, send_key
from warroom.console.screens.declare import DeclareScreen
from warroom.console.screens.form_fields import text_field
from warroom.core.alerts_incident import MAX_REASON, AlertGroupAttached, declaration_fields
from warroom.core.log import EventError
from warroom.core.protocol import Ack, Error


def group_line(group: dict[str, Any]) -> str:
    """One line naming a group: ``alertmanager · Checkout 5xx above 5% · 2 firing``."""
    return (
        f"{group.get('source', '?')} · {group.get('summary') or '(no summary)'} · "
        f"{group.get('firing', 0)} firing"
    )


def starts_at(group: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(group.get("starts_at")))
    except ValueError:
        return None


def follow_and_attach(app: WarroomApp, incident: str, group: dict[str, Any]) -> None:
    """Follow ``incident`` and attach ``group`` to it (through the outbox, like any command);
    the hub's answer is said in a notification."""
    app.join_incident(incident)
    future = app.send_command(AlertGroupAttached, group_id=str(group.get("id")))
    if future is None:
        return
    summary = group.get("summary") or group.get("id")

    def answered(done: asyncio.Future[Ack | Error]) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        reply = done.result()
        if isinstance(reply, Error):
            app.notify(reply.message, title="Alert group not attached", severity="error",
                       timeout=10)  # fmt: skip
        else:
            app.notify(f"{summary}: its later notifications come to this incident.",
                       title="Alert group attached", timeout=6)  # fmt: skip

    future.add_done_callback(answered)


class AlertDeclareScreen(DeclareScreen):
    """The declaration template filled from an alert group: title from its summary, severity
    from the hub's label mapping, detected at = its earliest ``startsAt``, scope from its
    labels. Everything stays editable; an unchanged detected time is sent exactly as the sender
    gave it (to the millisecond), not as the minute the field shows."""

    def __init__(self, group: dict[str, Any]) -> None:
        self.group = group
        self.prefill = declaration_fields(group)
        super().__init__(self.prefill["severity"] or None)
        self.detected = starts_at(group)

    def detected_text(self) -> str:
        if self.detected is None:
            return ""
        return self.detected.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")

    def on_mount(self) -> None:
        # Runs before the template's own on_mount, which then reads the detected time's hint.
        for field in ("title", "trigger", "symptoms", "scope"):
            self.query_one(f"#{field}", Input).value = self.prefill[field]
        if self.detected is not None:
            self.query_one("#detected", Input).value = self.detected_text()

    def send_declaration(self, fields: dict[str, str]) -> Any:
        typed = self.query_one("#detected", Input).value
        if self.detected is not None and typed.strip() == self.detected_text():
            fields = {**fields, "detected_at": self.detected.isoformat()}
        # The template's sender does the rest (outbox, retries, refusals).
        return super().send_declaration(fields)


class AttachGroupForm(CommandForm):
    """Pick the open incident the group belongs to; its IC may attach it."""

    FIRST = "#attach-incidents"
    ENTER_SENDS = "never"
    HINT = "↑↓ choose · enter or ctrl+s attach · esc cancel"
    BINDINGS = [send_key("Attach", "Attach the alert group to the chosen incident")]

    def __init__(self, group: dict[str, Any], incidents: list[dict[str, Any]]) -> None:
        super().__init__()
        self.group = group
        self.incidents = incidents

    def heading(self) -> str:
        return "Attach an alert group to an incident"

    def fields(self) -> ComposeResult:
        yield Static(group_line(self.group), classes="card-quote")
        me = self.warroom.me
        options = []
        for row in self.incidents:
            ic = row.get("ic")
            mine = ic == me
            note = "" if mine else f"  (only its IC, {ic or 'nobody yet'}, can attach)"
            options.append(
                Option(
                    f"{row.get('severity', '?')} {row.get('id')} · {row.get('title')}{note}",
                    id=str(row.get("id")),
                    disabled=not mine,
                )  # fmt: skip
            )
        if not options:
            options = [Option("No open incident to attach to.", disabled=True)]
        yield OptionList(*options, id="attach-incidents")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        chosen = self.query_one(OptionList).highlighted_option
        if chosen is None or chosen.disabled or chosen.id is None:
            self.show_error("Choose an incident you are the IC of.")
            return
        self.dismiss(None)
        follow_and_attach(self.warroom, chosen.id, self.group)


class DismissGroupForm(CommandForm):
    """Why this firing group is no incident; the hub remembers it for the group."""

    FIRST = "#dismiss-reason"
    BINDINGS = [send_key("Dismiss", "Dismiss the alert group with this reason")]
    HINT = "enter or ctrl+s dismiss · esc cancel"

    def __init__(self, group: dict[str, Any]) -> None:
        super().__init__()
        self.group = group
        #: Chosen once: a retry after a lost answer is acknowledged, not recorded twice.
        self.command_id = uuid.uuid4()

    def heading(self) -> str:
        return "Dismiss an alert group"

    def fields(self) -> ComposeResult:
        yield Static(group_line(self.group), classes="card-quote")
        yield from text_field(
            "Why is it no incident?",
            "dismiss-reason",
            placeholder="e.g. planned load test in staging",
            max_length=MAX_REASON,
        )

    def action_submit(self) -> None:
        reason = self.typed("#dismiss-reason")
        if not reason:
            self.show_error("Say why this alert group is no incident.")
            return
        self.show_error("")
        self.send_dismissal(reason)

    @work(exclusive=True, group="dismiss")
    async def send_dismissal(self, reason: str) -> None:
        app = self.warroom
        try:
            command = dismissal(str(self.group.get("id")), reason, self.command_id)
            await dismiss_group(app.url, app.me, command, token=app.token, role=app.seat,
                                cafile=app.cafile)  # fmt: skip
        except EventError as exc:
            self.show_error(f"Not sent: {exc}")
            return
        except HubRefused as exc:
            self.show_error(f"The hub refused: {exc}")
            return
        except HubUnreachable as exc:
            self.show_error(f"Cannot reach the hub ({exc.reason}); try again.")
            return
        app.notify(f"Dismissed: {reason}", title="Alert group dismissed", timeout=6)
        self.dismiss(1)
