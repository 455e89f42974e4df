"""The Checklist pane's forms: attach a runbook, skip or rule out a step, add a step, and do a
step that changes production as a production action (the Lock pane's form, prefilled), or as
one already recorded under the lock (a pipeline's change reported through the gate)."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from warroom.console.clock_face import shown_times
from warroom.console.screens.board_form import Built, CommandForm
from warroom.console.screens.form_fields import text_field
from warroom.console.screens.lock_action import ActionForm
from warroom.core.checklist import (
    ChecklistStepAdded,
    ChecklistStepDone,
    ChecklistStepNotApplicable,
    ChecklistStepSkipped,
    RunbookAttached,
)
from warroom.core.checklist_runbook import MAX_INSTRUCTION, Runbook
from warroom.core.checklist_state import Checklist, ChecklistStep
from warroom.core.gate import ChangeFreezeSet
from warroom.core.production import ProductionAction


class AttachForm(CommandForm):
    """Pick a runbook to attach; those that apply to the incident come first, with why."""

    HEADING = "Attach a runbook"
    HINT = "enter attaches the highlighted runbook · esc cancel"
    FIRST = "#runbook-list"

    def __init__(self, runbooks: list[tuple[Runbook, list[str]]]) -> None:
        super().__init__()
        self.runbooks = runbooks

    def fields(self) -> ComposeResult:
        options = []
        for runbook, matched in self.runbooks:
            why = f"  [b]suggested[/b]: {', '.join(matched)}" if matched else ""
            steps = f"{len(runbook.steps)} steps"
            options.append(
                Option(f"{runbook.title}  ({runbook.name}, {steps}){why}", id=runbook.name)
            )
        yield OptionList(*options, id="runbook-list")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_submit()

    def build(self) -> Built | str:
        option = self.query_one("#runbook-list", OptionList).highlighted_option
        chosen = next((r for r, _ in self.runbooks if option and r.name == option.id), None)
        if chosen is None:
            return "Pick a runbook."
        steps = [s.model_dump(mode="json") for s in chosen.steps]
        return RunbookAttached, {"runbook": chosen.name, "title": chosen.title, "steps": steps}


class StepReasonForm(CommandForm):
    """Skip a step (a reason is required) or mark it not applicable (a reason helps)."""

    FIRST = "#step-reason"

    def __init__(self, checklist: Checklist, step: ChecklistStep, skip: bool) -> None:
        super().__init__()
        self.checklist, self.step, self.skip = checklist, step, skip

    def heading(self) -> str:
        what = "Skip" if self.skip else "Not applicable:"
        return f"{what} {self.checklist.label}.{self.step.no}"

    def fields(self) -> ComposeResult:
        yield Static(self.step.do, classes="card-quote")
        label = "Why skip it?" if self.skip else "Why does it not apply? (optional)"
        yield from text_field(label, "step-reason", max_length=500)

    def build(self) -> Built | str:
        reason = self.typed("#step-reason")
        if self.skip and not reason:
            return "Say why the step is skipped."
        kind = ChecklistStepSkipped if self.skip else ChecklistStepNotApplicable
        return kind, {"checklist": self.checklist.no, "step": self.step.no, "reason": reason}


class StepAddForm(CommandForm):
    """Add a step the runbook lacks, at the end of a checklist."""

    FIRST = "#step-do"
    ENTER_SENDS = "last"

    def __init__(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.HEADING = f"Add a step to {checklist.label} {checklist.title}"  # type: ignore[misc]
        super().__init__()

    def fields(self) -> ComposeResult:
        yield from text_field("What to do", "step-do", max_length=MAX_INSTRUCTION)
        yield from text_field("Command to copy (optional)", "step-command", max_length=1000)
        yield Checkbox("Changes production (done only under the lock)", id="step-prod")

    def build(self) -> Built | str:
        text = self.typed("#step-do")
        if not text:
            return "Say what the step is."
        return ChecklistStepAdded, {
            "checklist": self.checklist.no,
            "do": text,
            "command": self.typed("#step-command"),
            "changes_production": self.query_one("#step-prod", Checkbox).value,
        }


class ProductionStepForm(ActionForm):
    """The production action form, opened from a step: what it should change is the step."""

    def __init__(self, token: int, holder: str, checklist: Checklist, step: ChecklistStep) -> None:
        super().__init__(token, holder)
        self.step = step
        self.ref = f"{checklist.label}.{step.no}"

    def on_mount(self) -> None:  # Textual runs ActionForm's on_mount too
        self.query_one("#action-expected", Input).value = f"{self.ref}: {self.step.do}"[:500]
        self.query_one("#form-title", Static).update(
            f"Do {self.ref} as a production action  ·  lease #{self.token} ({self.holder})"
        )


class LinkActionForm(CommandForm):
    """Which production action did this step? The holder's actions under the live lease that no
    step names yet (a pipeline's change the gate recorded among them), or a new one (n)."""

    HINT = "enter: this action did the step · n: start a new production action · esc cancel"
    FIRST = "#link-action-list"
    #: What the form closes with when the person asks for a new action instead.
    NEW: ClassVar[int] = -1
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_action", "New action", tooltip="Start a new production action")
    ]

    def __init__(
        self, checklist: Checklist, step: ChecklistStep, actions: list[ProductionAction]
    ) -> None:
        super().__init__()
        self.checklist, self.step, self.actions = checklist, step, actions

    def heading(self) -> str:
        return f"Done {self.checklist.label}.{self.step.no}: which production action did it?"

    def fields(self) -> ComposeResult:
        yield Static(self.step.do, classes="card-quote")
        times = shown_times()
        options = [
            Option(
                f"{escape(str(a.kind))} {escape(a.target)} · started {times.hm(a.started_at)} · "
                f"token {a.token}",
                id=str(a.id),
            )
            for a in self.actions
        ]
        options.append(Option("Start a new production action…", id="new"))
        yield OptionList(*options, id="link-action-list")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_submit()

    def action_new_action(self) -> None:
        self.dismiss(self.NEW)

    def action_submit(self) -> None:
        option = self.query_one("#link-action-list", OptionList).highlighted_option
        if option is not None and option.id == "new":
            self.action_new_action()
            return
        super().action_submit()

    def build(self) -> Built | str:
        option = self.query_one("#link-action-list", OptionList).highlighted_option
        chosen = next((a for a in self.actions if option and str(a.id) == option.id), None)
        if chosen is None:
            return "Pick the action that did the step, or n for a new one."
        return ChecklistStepDone, {
            "checklist": self.checklist.no,
            "step": self.step.no,
            "action_id": str(chosen.id),
        }


class FreezeForm(CommandForm):
    """The IC freezes changes to some targets (or ``*``): a pipeline then needs the live
    lease's fencing token to change them (docs/GATE.md)."""

    HEADING = "Change freeze"
    FIRST = "#freeze-targets"
    ENTER_SENDS = "last"

    def fields(self) -> ComposeResult:
        yield from text_field(
            "Targets, comma-separated (* for every target)",
            "freeze-targets",
            placeholder="checkout-api, payments-api",
        )
        yield from text_field("Why (optional)", "freeze-reason", max_length=500)

    def build(self) -> Built | str:
        targets = [t.strip().lower() for t in self.typed("#freeze-targets").split(",") if t.strip()]
        if not targets:
            return "Name the targets to freeze, or * for every target."
        return ChangeFreezeSet, {"targets": targets, "reason": self.typed("#freeze-reason")}
