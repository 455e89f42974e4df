"""The escalation banner, under the status bar of every console while a proposal is open.

The hub records an ``escalation_due`` when an incident outlives its severity's expected time to
mitigate; until the IC decides, every console shows why and what is proposed. The IC gets two
buttons (also on the summary pane as ``e`` and ``x``): raise the severity as proposed, or keep it
and say why. Everyone else sees who is expected to decide. The banner takes no room otherwise.
"""

from __future__ import annotations

from datetime import timedelta

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from warroom.console.clock_face import hm_zone
from warroom.console.css import tcss_beside
from warroom.console.redraw import show
from warroom.console.screens.lifecycle_forms import DismissEscalationForm, minutes_text
from warroom.console.widgets.pane import IncidentPane, Probe
from warroom.core.lifecycle import EscalationDismissed, SeverityChanged, open_escalation
from warroom.core.lifecycle_state import Escalation
from warroom.core.state import IncidentState


def banner_text(state: IncidentState, proposal: Escalation) -> str:
    """The banner's message: what passed, since when, and what is proposed."""
    expected = minutes_text(timedelta(minutes=proposal.expected_minutes))
    passed = (
        f"ESCALATION DUE · {proposal.severity} not mitigated within {expected} "
        f"(due {hm_zone(proposal.due_at)})."
    )
    if proposal.proposed is None:
        return f"{passed} Already the highest severity: bring in more help?"
    meaning = state.settings.policy.meaning(proposal.proposed)
    return f"{passed} Proposed: raise to {proposal.proposed}: {meaning}"


def accept_reason(proposal: Escalation) -> str:
    """The reason recorded when the IC accepts without typing one."""
    expected = minutes_text(timedelta(minutes=proposal.expected_minutes))
    return f"Escalation accepted: not mitigated within {expected} at {proposal.severity}"


def accept(pane: IncidentPane) -> None:
    """Raise the severity as the open proposal says (the IC's one-key answer)."""
    proposal = open_escalation(pane.state)
    if proposal is None or proposal.proposed is None:
        return
    pane.send(
        SeverityChanged,
        severity=proposal.proposed.value,
        previous=proposal.severity.value,
        reason=accept_reason(proposal),
        escalation=True,
    )


def dismiss(pane: IncidentPane) -> None:
    """Open the form in which the IC keeps the severity and says why."""
    proposal = open_escalation(pane.state)
    if proposal is not None:
        pane.app.push_screen(DismissEscalationForm(proposal))


class EscalationBanner(IncidentPane):
    """A proposal to raise severity, shown to everyone until the IC accepts or dismisses it."""

    DEFAULT_CSS = tcss_beside(__file__)

    def compose(self) -> ComposeResult:
        yield Static("", id="escalation-text")
        with Horizontal(id="escalation-actions"):
            yield Button("Raise", id="escalation-accept", variant="error", compact=True)
            yield Button("Dismiss with a reason", id="escalation-dismiss", compact=True)
            yield Static("", id="escalation-who")

    def probe(self, action: str) -> Probe | None:
        if action == "dismiss":
            return EscalationDismissed, {"reason": "?"}
        return None

    def render_state(self, state: IncidentState) -> None:
        proposal = open_escalation(state)
        self.display = proposal is not None
        if proposal is None:
            return
        show(self.query_one("#escalation-text", Static), banner_text(state, proposal))
        decides = self.allows("dismiss")
        raise_button = self.query_one("#escalation-accept", Button)
        raise_button.label = f"Raise to {proposal.proposed}" if proposal.proposed else "Raise"
        raise_button.display = decides and proposal.proposed is not None
        dismiss_button = self.query_one("#escalation-dismiss", Button)
        dismiss_button.label = "Dismiss with a reason" if proposal.proposed else "Acknowledge"
        dismiss_button.display = decides
        who = self.query_one("#escalation-who", Static)
        if decides:
            show(who, "or e / x on the summary pane (7)")
        else:
            show(who, f"Waiting for {state.ic or 'an IC'} to raise it or dismiss it.")

    @on(Button.Pressed, "#escalation-accept")
    def _accept(self, event: Button.Pressed) -> None:
        event.stop()
        accept(self)

    @on(Button.Pressed, "#escalation-dismiss")
    def _dismiss(self, event: Button.Pressed) -> None:
        event.stop()
        dismiss(self)
