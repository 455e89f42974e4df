"""The production action forms: start a change under the lease, then record how it went.

Starting asks for what a responder should know before touching production: the kind of change,
where, what it should change, and the metric to watch with its value now. Finishing records the
value after and the outcome. The form carries the lease's fencing token from the moment it
opened, so a change typed under a lease that has since ended is refused by the hub, not applied.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, Static

from warroom.console.screens.form_fields import field_label, text_field
from warroom.console.screens.lock_form import AckedForm, LockForm
from warroom.core.actions import ActionFinished, ActionStarted
from warroom.core.production import ActionKind, ActionOutcome, ProductionAction

KIND_OPTIONS = [(kind.label.capitalize(), kind) for kind in ActionKind]
OUTCOME_OPTIONS = [(outcome.label.capitalize(), outcome) for outcome in ActionOutcome]


class ActionForm(AckedForm):
    """Start a production action (or the undo of an earlier one) under lease ``token``."""

    ENTER = "next"

    def __init__(self, token: int, holder: str, undo: ProductionAction | None = None) -> None:
        super().__init__()
        self.token = token
        self.holder = holder
        self.undo = undo

    def compose(self) -> ComposeResult:
        undo = self.undo
        with Vertical(id="form"):
            title = f"Undo: {undo.kind.label} {undo.target}" if undo else "Change production"
            yield Label(f"{title}  ·  lease #{self.token} ({self.holder})", id="form-title")
            if undo is not None:
                yield Static(
                    f"It did not help: {undo.metric} {undo.value_before} → {undo.value_after}. "
                    "Undo it before trying the next change.",
                    classes="form-context",
                )
            yield field_label("Kind of change")
            yield Select(
                KIND_OPTIONS,
                value=undo.kind if undo else ActionKind.ROLLBACK,
                allow_blank=False,
                id="action-kind",
                compact=True,
            )
            expected = f"back to how it was before this {undo.kind.label}" if undo else ""
            for label, field, value, placeholder in (
                ("Target (service, flag, cluster…)", "action-target", undo and undo.target,
                 "checkout-api"),
                ("What it should change", "action-expected", expected, "5xx rate back under 1%"),
                ("Metric to watch", "action-metric", undo and undo.metric, "checkout 5xx rate"),
                ("Its value now", "action-before", undo and undo.value_after, "12%"),
            ):  # fmt: skip
                yield from text_field(label, field, value=value or "", placeholder=placeholder)
            yield from self.form_end("Start (ctrl+s)", "warning")

    def on_mount(self) -> None:
        self.query_one("#action-target" if self.undo is None else "#action-before", Input).focus()

    def action_submit(self) -> None:
        fields = {
            "target": self.typed("#action-target"),
            "expected": self.typed("#action-expected"),
            "metric": self.typed("#action-metric"),
            "value_before": self.typed("#action-before"),
        }
        names = {
            "target": "target",
            "expected": "what it should change",
            "metric": "metric",
            "value_before": "its value now",
        }
        missing = [names[k] for k, v in fields.items() if not v]
        if missing:
            self.show_error("Fill in: " + ", ".join(missing) + ".")
            return
        kind = self.query_one("#action-kind", Select).value
        undoes = str(self.undo.id) if self.undo is not None else None
        self.send(ActionStarted, token=self.token, kind=kind, undoes=undoes, **fields)


class FinishForm(LockForm[ProductionAction]):
    """Record the value after an action and whether it helped."""

    ENTER = "next"
    FIRST = "#action-after"

    def __init__(self, action: ProductionAction) -> None:
        super().__init__()
        self.action = action

    def compose(self) -> ComposeResult:
        action = self.action
        with Vertical(id="form"):
            yield Label(f"How did it go?  ·  {action.kind.label} {action.target}", id="form-title")
            yield Static(
                f"Expected: {action.expected}\nWatching {action.metric}: {action.value_before} "
                "before.",
                classes="form-context",
            )
            yield from text_field(f"{action.metric} now", "action-after",
                                  placeholder=action.value_before)  # fmt: skip
            yield field_label("Outcome")
            yield Select(OUTCOME_OPTIONS, prompt="Did it help?", id="action-outcome", compact=True)
            yield from text_field("Note (optional)", "action-note")
            yield from self.form_end("Record (ctrl+s)", "primary")

    def outcome(self) -> ActionOutcome | None:
        value = self.query_one("#action-outcome", Select).value
        return value if isinstance(value, ActionOutcome) else None

    def result(self) -> ProductionAction:
        """The action as recorded, so the opener can ask "undo it?" without waiting for the
        event to come back from the hub."""
        return self.action.model_copy(
            update={
                "value_after": self.typed("#action-after"),
                "outcome": self.outcome(),
            }
        )

    def action_submit(self) -> None:
        after = self.typed("#action-after")
        outcome = self.outcome()
        if not after or outcome is None:
            self.show_error(f"Fill in the value of {self.action.metric} now, and the outcome.")
            return
        note = self.typed("#action-note")
        self.send(
            ActionFinished,
            action_id=str(self.action.id),
            value_after=after,
            outcome=outcome,
            note=note,
        )
