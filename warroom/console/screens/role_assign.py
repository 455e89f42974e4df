"""The IC gives a held role (scribe, comms lead, technical lead) to someone, or vacates it.

The IC role itself is not in this form: it moves only by handoff or claim, so the room never has
two incident commanders.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, Static

from warroom.console.screens.form_fields import field_label
from warroom.console.screens.lock_form import AckedForm
from warroom.core.incident import RoleAssigned
from warroom.core.roles import ROLE_TITLES, Role
from warroom.core.state import IncidentState

#: The Select value that vacates the role.
VACATE = "-"


class RoleAssignForm(AckedForm):
    """Pick who holds ``role``; the hub records a ``role_assigned`` event."""

    FIRST = "#assign-to"

    def __init__(self, role: Role, state: IncidentState, me: str) -> None:
        super().__init__()
        self.role = role
        holder = state.holder(role)
        self.holder = holder
        self.names = sorted(
            p.name for p in state.participants.values() if not state.is_observer(p.name)
        )

    def compose(self) -> ComposeResult:
        title = ROLE_TITLES[self.role]
        now = f"held by {self.holder}" if self.holder else "vacant"
        options = [(n, n) for n in self.names if n != self.holder]
        if self.holder:
            options.append(("nobody (vacate the role)", VACATE))
        with Vertical(id="form"):
            yield Label(f"Assign the role: {title}", id="form-title")
            yield Static(f"The role is {now}. Everyone sees the change on the timeline.",
                         classes="form-context")  # fmt: skip
            yield field_label("Give it to")
            yield Select(options, prompt="Who?", id="assign-to")
            yield from self.form_end("Assign (ctrl+s)", "primary", compact=False)

    def action_submit(self) -> None:
        chosen = self.query_one("#assign-to", Select).value
        if not isinstance(chosen, str):
            self.show_error("Choose who takes the role.")
            return
        holder = None if chosen == VACATE else chosen
        self.send(RoleAssigned, assigned_role=self.role.value, holder=holder)
