"""The declaration form: the template every incident starts from.

Severity is chosen with its rubric beside each level, so nobody has to remember what SEV2 means
at 3 a.m. The time the problem was detected is asked for separately from the declaration (which
the hub stamps), because the gap between the two is one of the things a postmortem measures.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from warroom.client.lobby import HubRefused, HubUnreachable, declaration, declare, new_incident_id
from warroom.client.outbox import OutboxStore
from warroom.console.app import WarroomApp
from warroom.console.screens.form_keys import FIELD_BINDINGS, FieldKeys
from warroom.console.widgets.footer import CalmFooter
from warroom.console.widgets.status_bar import elapsed
from warroom.core.local_time import MAX_ZONE, UTC_TIMES, Times, is_zone, reference_zone
from warroom.core.log import EventError
from warroom.core.severity import RUBRIC, Severity

_AGO = re.compile(r"^-?\s*(\d+)\s*(m|min|mins|minutes?|h|hours?)\s*(ago)?$", re.IGNORECASE)


class DetectedTimeError(ValueError):
    """Text that is not a time; the message says what is accepted."""


def parse_detected(text: str, now: datetime, times: Times = UTC_TIMES) -> datetime:
    """When the problem was detected, from what a responder types, read on the console's clock
    (``times``: the person's zone, or UTC) unless the text names its own zone.

    Accepts ``2026-03-14 08:45``, ``08:45`` (the last such time: today, or yesterday evening
    just after midnight), ``15m ago``/``-15m`` and ``2h ago``.
    """
    value = text.strip()
    if not value or value.lower() == "now":
        return now
    ago = _AGO.match(value)
    if ago:
        amount = int(ago.group(1))
        unit = ago.group(2).lower()
        return now - (
            timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount)
        )
    read = times.read(value, now)
    if read is not None:
        return read
    raise DetectedTimeError(
        f"Use a time in {times.label} like 08:45 or 2026-03-14 08:45, or '15m ago'."
    )


def format_local(at: datetime, times: Times = UTC_TIMES) -> str:
    return f"{times.local(at):%Y-%m-%d %H:%M}"


class DeclareScreen(FieldKeys, Screen[str | None]):
    """Dismissed with the new incident's id, or ``None`` if cancelled."""

    CSS_PATH = "declare.tcss"
    BINDINGS = [
        Binding("ctrl+s", "declare", "Declare", id="declare.submit",
                tooltip="Declare the incident: you become its IC", priority=True),
        Binding("escape", "cancel", "Cancel", id="declare.cancel",
                tooltip="Back to the list without declaring"),
        *FIELD_BINDINGS,
    ]  # fmt: skip

    def __init__(self, severity: str | None = None) -> None:
        super().__init__()
        #: The level chosen before the template opened (``1``-``4`` on the incident list).
        self.severity = Severity(severity) if severity else Severity.SEV2
        #: Chosen once for this form: every retry names the same incident with the same command,
        #: so a declaration whose answer was lost is not made a second time.
        self.incident_id = new_incident_id()
        self.command_id = uuid.uuid4()

    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        now = self.warroom.clock()
        times = self.warroom.times
        with VerticalScroll(id="declare-form"):
            yield Static(
                "[b]Declare an incident[/b] — you become its incident commander. The hub records "
                "the time of declaration; give the time the problem was detected below.",
                id="declare-heading",
            )
            with Grid(id="declare-grid"):
                yield Label("Title", classes="field-label")
                yield Input(id="title", placeholder="what is broken, for whom", compact=True,
                            max_length=200)  # fmt: skip
                yield Label("Severity", classes="field-label")
                yield Label("how big a response: ↑↓ to choose, the rubric beside each level",
                            classes="field-hint")  # fmt: skip
                with RadioSet(id="severity", compact=True):
                    for sev in Severity:
                        colour = self.app.theme_variables.get(sev.lower(), "")
                        label = Text.assemble((f"{sev}  ", f"bold {colour}"), RUBRIC[sev])
                        yield RadioButton(label, value=sev == self.severity, name=sev.value)
                yield Label("Detected", classes="field-label")
                with Horizontal(id="detected-row"):
                    yield Input(format_local(now, times), id="detected", compact=True)
                    yield Label("", id="detected-hint")
                yield Label("Trigger", classes="field-label")
                yield Input(id="trigger", placeholder="alert, customer report, deploy…",
                            compact=True)  # fmt: skip
                yield Label("Symptoms", classes="field-label")
                yield Input(id="symptoms", placeholder="what people see first", compact=True)
                yield Label("Scope", classes="field-label")
                yield Input(id="scope", placeholder="who and what is affected, as far as known",
                            compact=True)  # fmt: skip
                yield Label("Time zone", classes="field-label")
                with Horizontal(id="zone-row"):
                    yield Input(times.label, id="timezone", compact=True, max_length=MAX_ZONE)
                    yield Label("the incident's reference clock (times are stored in UTC)",
                                id="zone-hint")  # fmt: skip
            yield Label("", id="declare-message")
            with Horizontal(id="declare-buttons"):
                yield Button("Declare", id="declare-submit", variant="error", compact=True)
                yield Button("Cancel", id="declare-cancel", compact=True)
        yield CalmFooter()

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = self.warroom.blink
        self._update_hint(self.query_one("#detected", Input).value)
        self.query_one("#title", Input).focus()
        # The choice's keyboard highlight starts on the first level; start it on the selected one.
        radio = self.query_one(RadioSet)
        for _ in range(list(Severity).index(self.severity)):
            self.call_after_refresh(radio.action_next_button)

    # --- the detected time --------------------------------------------------------------------
    @on(Input.Changed, "#detected")
    def _detected_changed(self, event: Input.Changed) -> None:
        self._update_hint(event.value)

    def _update_hint(self, text: str) -> None:
        hint = self.query_one("#detected-hint", Label)
        now = self.warroom.clock()
        try:
            at = parse_detected(text, now, self.warroom.times)
        except DetectedTimeError as exc:
            hint.update(str(exc))
            hint.add_class("error")
            return
        hint.remove_class("error")
        zone = self.warroom.times.label
        if at > now:
            hint.update(f"{zone} · that is in the future")
        else:
            hint.update(f"{zone} · {elapsed(now - at)} ago")

    # --- submitting ---------------------------------------------------------------------------
    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id in ("scope", "timezone"):
            self.action_declare()
        else:
            self.focus_next()

    @on(Button.Pressed, "#declare-submit")
    def _submit_pressed(self) -> None:
        self.action_declare()

    @on(Button.Pressed, "#declare-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    async def _action_declare(self) -> None:
        """``ctrl+s`` declares once the text typed before it is in its field."""
        await self.after_typed_keys("declare")

    def action_declare(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        if not title:
            self._message("An incident needs a title.")
            self.query_one("#title", Input).focus()
            return
        try:
            detected = parse_detected(
                self.query_one("#detected", Input).value, self.warroom.clock(), self.warroom.times
            )
        except DetectedTimeError as exc:
            self._message(str(exc))
            self.query_one("#detected", Input).focus()
            return
        zone = self.query_one("#timezone", Input).value.strip()
        if zone and not is_zone(zone):
            self._message(f"No time zone called {zone!r}: use a name like Europe/Berlin or UTC.")
            self.query_one("#timezone", Input).focus()
            return
        pressed = self.query_one(RadioSet).pressed_button
        severity = pressed.name if pressed is not None and pressed.name else "SEV2"
        fields = {
            "title": title,
            "severity": severity,
            "detected_at": detected.isoformat(),
            "trigger": self.query_one("#trigger", Input).value.strip(),
            "symptoms": self.query_one("#symptoms", Input).value.strip(),
            "scope": self.query_one("#scope", Input).value.strip(),
            "timezone": reference_zone(zone),
        }
        self._message("Declaring…", error=False)
        self.send_declaration(fields)

    @work(exclusive=True, group="declare")
    async def send_declaration(self, fields: dict[str, str]) -> None:
        app = self.warroom
        store = None
        try:
            draft = declaration(self.incident_id, self.command_id, **fields)
            if app.outbox_dir is not None:  # on disk before it goes anywhere, as every command
                store = OutboxStore(app.outbox_dir, app.url, draft.incident_id, app.me)
            incident = await declare(
                app.url, app.me, app.token, role=app.seat, cafile=app.cafile, draft=draft,
                store=store,
            )  # fmt: skip
        except HubRefused as exc:
            if exc.code == "already_declared":
                # Someone else's incident has this id (ours would be acknowledged again):
                # the next try names a new one.
                self.incident_id, self.command_id = new_incident_id(), uuid.uuid4()
            self._message(f"The hub refused: {exc}")
            return
        except EventError as exc:
            self._message(f"Not sent: {exc}")
            return
        except (HubUnreachable, OSError, TimeoutError) as exc:
            reason = exc.reason if isinstance(exc, HubUnreachable) else type(exc).__name__
            self._message(f"Cannot reach the hub at {app.hub_label} ({reason}); try again.")
            return
        self.dismiss(incident)

    def _message(self, text: str, error: bool = True) -> None:
        label = self.query_one("#declare-message", Label)
        label.update(text)
        label.set_class(error, "error")
