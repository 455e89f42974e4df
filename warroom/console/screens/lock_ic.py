"""The IC's overrides of the production lock: take it away, or give it to someone.

Both name the token the IC saw when opening the form, so if the lock changed hands meanwhile the
hub refuses instead of taking it from the wrong person.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, Static

from warroom.console.screens.form_fields import field_label, text_field
from warroom.console.screens.lock_form import AckedForm
from warroom.core.lock import LockForceReleased, LockHandedOver
from warroom.core.production import ProductionLock


class ForceReleaseForm(AckedForm):
    """Take the lock from its holder, with a reason; it passes to the first in the queue."""

    ENTER = "submit"
    FIRST = "#lock-reason"

    def __init__(self, lock: ProductionLock) -> None:
        super().__init__()
        self.seen_lock = lock

    def compose(self) -> ComposeResult:
        lock = self.seen_lock
        following = lock.queue[0] if lock.queue else "nobody (the lock becomes free)"
        with Vertical(id="form"):
            yield Label(f"Force-release the lock from {lock.holder}", id="form-title")
            yield Static(f"Lease #{lock.token}. Next: {following}.", classes="form-context")
            yield from text_field("Reason (everyone sees it on the timeline)", "lock-reason",
                                  placeholder="holder unreachable for 5 minutes")  # fmt: skip
            yield from self.form_end("Force release (ctrl+s)", "error")

    def action_submit(self) -> None:
        reason = self.typed("#lock-reason")
        if not reason:
            self.show_error("Say why the lock is being taken away.")
            return
        self.send(LockForceReleased, token=self.seen_lock.token, reason=reason)


class HandOverForm(AckedForm):
    """Give the lock to a named participant, ending the current lease if there is one."""

    ENTER = "submit"
    FIRST = "#lock-to"

    def __init__(self, lock: ProductionLock, names: list[str]) -> None:
        super().__init__()
        self.seen_lock = lock
        self.names = names

    def compose(self) -> ComposeResult:
        lock = self.seen_lock
        now = f"held by {lock.holder} (lease #{lock.token})" if lock.holder else "free"
        with Vertical(id="form"):
            yield Label("Hand the production lock over", id="form-title")
            yield Static(f"The lock is {now}.", classes="form-context")
            yield field_label("Give it to")
            yield Select([(n, n) for n in self.names], prompt="Who?", id="lock-to", compact=True)
            yield from text_field(
                "Reason (optional)", "lock-reason", placeholder="owns the database"
            )
            yield from self.form_end("Hand over (ctrl+s)", "warning")

    def action_submit(self) -> None:
        to = self.query_one("#lock-to", Select).value
        if not isinstance(to, str):
            self.show_error("Choose who gets the lock.")
            return
        reason = self.typed("#lock-reason")
        self.send(LockHandedOver, token=self.seen_lock.token, to=to, reason=reason)
