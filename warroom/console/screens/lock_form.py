"""The base of the lock's modal forms: send one command, and show a refusal right there.

A form stays open until the hub acknowledges its command, so a refusal (the lease ended while
the form was open, the lock changed hands) is read where the user acted, with what they typed
still in place to fix or cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, Literal, ParamSpec, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static
from textual.widgets.button import ButtonVariant

from warroom.console.css import tcss_beside
from warroom.console.screens.form_fields import FormFields
from warroom.console.screens.form_keys import FIELD_BINDINGS, FieldKeys
from warroom.core.events import EventBase
from warroom.core.protocol import Error

#: The fields of the event class a command is built from.
P = ParamSpec("P")

R = TypeVar("R")


class LockForm(FormFields, FieldKeys, ModalScreen[R], Generic[R]):
    """A modal that sends one command and closes on the hub's acknowledgement."""

    DEFAULT_CSS = tcss_beside(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="lock-form.cancel",
                tooltip="Close without sending anything"),
        Binding("ctrl+s", "submit", "Send", id="lock-form.submit",
                tooltip="Send this to the hub"),
        *FIELD_BINDINGS,
    ]  # fmt: skip
    #: What Enter in a text field does: send the form, move to the next field, or nothing.
    ENTER: ClassVar[Literal["submit", "next", "none"]] = "none"

    def error_line(self) -> Static:
        return Static("", id="form-error", classes="form-error")

    def show_error(self, message: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(message)
        error.display = bool(message)

    def on_mount(self) -> None:
        self.show_error("")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        """Subclasses validate their fields, then call :meth:`send`."""

    def form_end(self, send: str, variant: ButtonVariant, *, compact: bool = True) -> ComposeResult:
        """What every lock form ends with: the error line, then Cancel and the send button."""
        yield self.error_line()
        with Horizontal(id="form-buttons"):
            yield Button("Cancel", id="cancel", compact=compact)
            yield Button(send, variant=variant, id="submit", compact=compact)

    @on(Button.Pressed)
    async def _pressed(self, event: Button.Pressed) -> None:
        """The two buttons are named after their actions (the same as ctrl+s and escape)."""
        if event.button.id in ("submit", "cancel"):
            await self.run_action(event.button.id)

    @on(Input.Submitted)
    def _enter(self) -> None:
        if self.ENTER == "submit":
            self.action_submit()
        elif self.ENTER == "next":
            self.focus_next()

    def result(self) -> R | None:
        """What the form returns to its opener once the hub has acknowledged."""
        return None

    def send(self, kind: Callable[P, EventBase], /, *args: P.args, **payload: P.kwargs) -> None:
        future = self.app.send_command(kind, *args, **payload)  # type: ignore[attr-defined]
        if future is None:
            return  # did not validate; the app has said why
        self.show_error("")
        self.query_one("#form-error", Static).update("Waiting for the hub…")
        self.query_one("#form-error", Static).display = True
        self._await_reply(future)

    @work(exclusive=True, group="lock-form")
    async def _await_reply(self, future: Any) -> None:
        reply = await future
        if isinstance(reply, Error):
            self.show_error(f"The hub refused: {reply.message}")
            return
        self.dismiss(self.result())


class AckedForm(LockForm[bool]):
    """A lock form whose opener needs to know only that the hub took the command (``True``)."""

    def result(self) -> bool:
        return True
