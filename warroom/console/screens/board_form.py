"""The modal form every board and decision command is typed into.

A form sends its one command and stays open until the hub answers: an acknowledgement closes it
with the new ``seq``, a refusal is shown inside the form, where the user acted, with what they
typed still there to correct. While the link to the hub is down the command waits in the
outbox like any other; the form closes at once and a later refusal arrives as a notification.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from warroom.client.sync import LinkStatus
from warroom.console.screens.form_fields import FormFields
from warroom.console.screens.form_keys import FIELD_BINDINGS, FieldKeys
from warroom.core.board import EvidenceKind
from warroom.core.events import EventBase
from warroom.core.protocol import Ack, Error

if TYPE_CHECKING:
    from warroom.console.app import WarroomApp

#: How long a form waits for the hub before it closes and lets the outbox carry on.
REPLY_WAIT = 3.0

Built = tuple[type[EventBase], dict[str, Any]]

#: A form's result when its command went to the outbox, not yet stored (no ``seq`` yet).
QUEUED = 0


def send_key(description: str, tooltip: str) -> Binding:
    """A form's ``ctrl+s``, named for what sending does in that form (a form's own ``BINDINGS``
    are merged over :class:`CommandForm`'s, so a form lists only the keys it names anew)."""
    return Binding(
        "ctrl+s", "submit", description, id="form.submit", tooltip=tooltip, priority=True
    )


class CommandForm(FormFields, FieldKeys, ModalScreen[int | None]):
    """A modal that builds one command from its fields and sends it to the hub."""

    #: Absolute, so every subclass (in its own module) finds it; as screen CSS it outweighs the
    #: console's plain ``Screen`` rule, and the console stays visible, dimmed, under the form.
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    DEFAULT_CLASSES = "form-screen"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close without sending"),
        send_key("Send", "Send to the hub"),
        *FIELD_BINDINGS,
    ]
    #: The form's heading.
    HEADING: ClassVar[str] = ""
    #: The keys line under the fields.
    HINT: ClassVar[str] = "enter or ctrl+s send · esc cancel"
    #: What enter in a field does: send ("any"), move on and send from the last input ("last"),
    #: or always move on ("never": the form ends in lists, not inputs).
    ENTER_SENDS: ClassVar[Literal["any", "last", "never"]] = "any"
    #: What the form closes with when its command is queued rather than acknowledged (the link is
    #: down, or the hub is slow): ``None`` reads as "nothing sent"; a form whose opener must close
    #: too (a preview over its template) says :data:`QUEUED`.
    QUEUED_RESULT: ClassVar[int | None] = None

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="command-form"):
            yield Label(self.heading(), id="form-heading")
            yield from self.fields()
            yield Static("", id="form-error")
            yield Static(self.HINT, id="form-hint")

    def heading(self) -> str:
        return self.HEADING

    def fields(self) -> ComposeResult:
        """The form's inputs. Subclasses yield theirs."""
        yield from ()

    def build(self) -> Built | str:
        """The command to send as ``(event class, payload)``, or a message saying what is missing."""
        raise NotImplementedError

    # --- sending ------------------------------------------------------------------------------
    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    def show_error(self, message: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(message)
        error.set_class(bool(message), "shown")

    @on(Input.Submitted)
    def _submit_from_input(self, event: Input.Submitted) -> None:
        """Enter sends a short form; in a longer one it moves on, and sends from the last field."""
        event.stop()
        inputs = list(self.query(Input))
        last = event.input is inputs[-1]
        if self.ENTER_SENDS == "any" or (self.ENTER_SENDS == "last" and last):
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        built = self.build()
        if isinstance(built, str):
            self.show_error(built)
            return
        self.show_error("")
        self.run_worker(self._send(*built), exclusive=True, group="form-send")

    def action_cancel(self) -> None:
        self.dismiss(None)

    async def _send(self, kind: type[EventBase], payload: dict[str, Any]) -> None:
        future = self.warroom.send_command(kind, **payload)
        if future is None:
            return  # the draft did not validate; the app has said why
        if self.warroom.link != LinkStatus.LIVE:
            self._report_later(future)
            self.notify("Queued: it goes to the hub when the link is back.", timeout=5)
            self.dismiss(self.QUEUED_RESULT)
            return
        try:
            reply = await asyncio.wait_for(asyncio.shield(future), REPLY_WAIT)
        except TimeoutError:
            self._report_later(future)
            self.dismiss(self.QUEUED_RESULT)
            return
        if isinstance(reply, Error):
            self.show_error(f"The hub refused: {reply.message}")
            return
        self.dismiss(reply.seq)

    def _report_later(self, future: asyncio.Future[Ack | Error]) -> None:
        app = self.app

        def report(done: asyncio.Future[Ack | Error]) -> None:
            if done.cancelled() or done.exception() is not None:
                return
            reply = done.result()
            if isinstance(reply, Error):
                app.notify(reply.message, title="The hub refused", severity="error", timeout=8)

        future.add_done_callback(report)


EVIDENCE_CHOICES: list[tuple[str, EvidenceKind]] = [
    ("note", EvidenceKind.NOTE),
    ("link", EvidenceKind.LINK),
    ("query", EvidenceKind.QUERY),
    ("graph", EvidenceKind.GRAPH),
    ("output", EvidenceKind.OUTPUT),
]


class EvidenceRow(Vertical):
    """What kind of evidence (link, query, graph, command output, note) and its text.

    The kinds are a row of choices (←→ move, Space or Enter takes one), not a dropdown: a
    dropdown opened near the bottom of the form drew its list over the form's border.
    """

    def __init__(self, placeholder: str, *, kind: EvidenceKind = EvidenceKind.NOTE) -> None:
        super().__init__(classes="evidence-row")
        self._placeholder = placeholder
        self._kind = kind

    def compose(self) -> ComposeResult:
        with RadioSet(id="evidence-kind", compact=True):
            for label, kind in EVIDENCE_CHOICES:
                yield RadioButton(label, value=kind == self._kind, name=kind.value)
        yield Input(
            placeholder=self._placeholder, id="evidence-text", max_length=4000, compact=True
        )

    def on_mount(self) -> None:
        # The keyboard highlight starts on the kind already chosen, not on the first one.
        kinds = [kind for _, kind in EVIDENCE_CHOICES]
        radios = self.query_one("#evidence-kind", RadioSet)
        self.call_after_refresh(setattr, radios, "_selected", kinds.index(self._kind))

    def note(self) -> dict[str, str] | None:
        """The evidence as a command carries it, or ``None`` when nothing was typed."""
        text = self.query_one("#evidence-text", Input).value.strip()
        if not text:
            return None
        pressed = self.query_one("#evidence-kind", RadioSet).pressed_button
        kind = pressed.name if pressed is not None and pressed.name else self._kind.value
        return {"kind": str(kind), "text": text}
