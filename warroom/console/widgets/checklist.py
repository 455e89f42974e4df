"""The Checklist pane (key 8): the incident's runbooks as live checklists, shared by the room.

Every step of every attached runbook is listed under its checklist with its state at a glance
(open, who is on it, done, skipped, not applicable) and ``⚠ prod`` on a step that changes
production; the highlighted step's detail shows its command, who finished it and why, and for a
production step the action it was done as (token, metric before and after, outcome).

What each key may do comes from the core (:mod:`warroom.core.checklist`), asked with the command
the key would send, so a greyed key says the hub's own reason. ``d`` on a production step opens
the production action form (for the lock holder only); once the room's state shows the new action,
the pane marks the step done linked to it.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from warroom.client.lobby import HubRefused, HubUnreachable
from warroom.client.runbooks import fetch_runbooks
from warroom.console.css import tcss_beside
from warroom.console.screens.checklist_forms import (
    AttachForm,
    FreezeForm,
    LinkActionForm,
    ProductionStepForm,
    StepAddForm,
    StepReasonForm,
)
from warroom.console.widgets.pane import ListDetailPane, Probe
from warroom.core.checklist import (
    ChecklistStepAdded,
    ChecklistStepClaimed,
    ChecklistStepDone,
    ChecklistStepNotApplicable,
    ChecklistStepSkipped,
    RunbookAttached,
    actions_for_step,
)
from warroom.core.checklist_state import Checklist, ChecklistStep, StepStatus
from warroom.core.gate import ChangeFreezeLifted, ChangeFreezeSet, freeze_holds
from warroom.core.state import IncidentState

MARK: dict[StepStatus, str] = {
    StepStatus.OPEN: "[ ]",
    StepStatus.CLAIMED: "[>]",
    StepStatus.DONE: "[✓]",
    StepStatus.SKIPPED: "[–]",
    StepStatus.NOT_APPLICABLE: "[/]",
}
#: A placeholder step payload for asking the core about a key.
_SOME = "?"


def step_line(step: ChecklistStep) -> str:
    """One row of the list: mark, number, text, and who or what at the end."""
    prod = " [b $warning]⚠ prod[/]" if step.changes_production else ""
    who = ""
    if step.status == StepStatus.CLAIMED:
        who = f"  [i]{escape(step.claimed_by)} is on it[/i]"
    elif step.status.finished:
        who = f"  [dim]{step.status.label} · {escape(step.finished_by)}[/dim]"
    text = escape(step.do)
    if step.status.finished:
        text = f"[dim]{text}[/dim]"
    return f"{MARK[step.status]} {step.no}. {text}{prod}{who}"


def step_detail(
    state: IncidentState, checklist: Checklist | None, step: ChecklistStep | None
) -> str:
    """The highlighted step in full."""
    if checklist is None or step is None:
        return "No runbook attached yet. The IC attaches one with a (suggested ones first)."
    lines = [f"[b]{checklist.label}.{step.no}[/b] {escape(step.do)}"]
    if step.command:
        lines.append(f"  $ {escape(step.command)}   [dim](y copies it)[/dim]")
    facts = []
    if step.role is not None:
        facts.append(f"for the {step.role.value}")
    if step.changes_production:
        facts.append("changes production: done as a production action under the lock")
    if step.added_by:
        facts.append(f"added by {escape(step.added_by)}")
    if facts:
        lines.append("  " + " · ".join(facts))
    if step.status == StepStatus.CLAIMED:
        lines.append(f"  {escape(step.claimed_by)} is on it")
    elif step.status.finished:
        why = f": {escape(step.reason)}" if step.reason else ""
        lines.append(f"  {step.status.label.capitalize()} by {escape(step.finished_by)}{why}")
    if step.action_id is not None:
        action = state.actions.get(str(step.action_id))
        if action is not None:
            after = f" → {escape(action.value_after)}" if action.value_after else ""
            outcome = action.outcome.label if action.outcome else "open: record how it went (4, f)"
            lines.append(
                f"  Action token {action.token}: {action.kind.label} {escape(action.target)}; "
                f"{escape(action.metric)} {escape(action.value_before)}{after}; {outcome}"
            )
    return "\n".join(lines)


class ChecklistPane(ListDetailPane):
    """Every checklist's steps above, the highlighted step's detail below."""

    DEFAULT_CSS = tcss_beside(__file__)
    MESSAGE_LINE = "#checklist-message"
    HELP = (
        "The IC attaches runbooks; their steps are the room's checklist. Claim a step (c) to say "
        "you are on it, mark it done (d). The IC or the technical lead skips a step with a reason "
        "(s), marks it not applicable (n) or adds one (+). A step marked ⚠ prod changes "
        "production: it is done only as a production action by the lock holder."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "attach", "Attach", id="checklist.attach", tooltip="Attach a runbook (IC)"),
        Binding("c", "claim", "Claim", id="checklist.claim", tooltip="Say you are on this step"),
        Binding("d", "done", "Done", id="checklist.done", tooltip="Mark this step done"),
        Binding("s", "skip", "Skip", id="checklist.skip", tooltip="Skip it, with a reason"),
        Binding("n", "not_applicable", "N/A", id="checklist.na", tooltip="It does not apply"),
        Binding("plus", "add", "Add step", id="checklist.add", tooltip="Add a step at the end"),
        Binding("y", "copy", "Copy", id="checklist.copy", show=False, tooltip="Copy its command"),
        Binding("z", "freeze", "Freeze", id="checklist.freeze", show=False,
                tooltip="Freeze changes to targets: the deploy gate then wants the lock (IC)"),
        Binding("Z", "lift_freeze", "Lift freeze", id="checklist.lift", show=False,
                tooltip="Lift the change freeze (IC)"),
    ]  # fmt: skip
    WRITE_ACTIONS = frozenset(
        {"attach", "claim", "done", "skip", "not_applicable", "add", "freeze", "lift_freeze"}
    )

    #: A production step waiting for the action it is being done as: (checklist, step, actions
    #: that existed when the form opened).
    _pending: tuple[int, int, frozenset[str]] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="checklist-freeze")
        steps = OptionList(id="checklist-list")
        steps.border_title = "Checklists"
        yield steps
        with VerticalScroll(id="checklist-detail-box"):
            yield Static(id="checklist-detail")
        yield Static("", id="checklist-message")

    # --- rendering ----------------------------------------------------------------------------
    def render_state(self, state: IncidentState) -> None:
        lst = self.query_one("#checklist-list", OptionList)
        before = lst.highlighted_option.id if lst.highlighted_option is not None else None
        options: list[Option] = []
        for checklist in state.checklists.values():
            header = f"[b]{checklist.label} {escape(checklist.title)}[/b]  {checklist.progress}"
            options.append(Option(header, id=f"h{checklist.no}", disabled=True))
            options += [Option(step_line(s), id=f"{checklist.no}.{s.no}") for s in checklist.steps]
        if not options:
            options = [Option("No runbook attached yet.", disabled=True)]
        lst.set_options(options)
        ids = [o.id for o in options]
        if before in ids:
            lst.highlighted = ids.index(before)
        else:
            first_open = next(
                (i for i, o in enumerate(options) if not o.disabled and "[ ]" in str(o.prompt)),
                None,
            )
            lst.highlighted = first_open
        done = sum(c.finished for c in state.checklists.values())
        total = sum(len(c.steps) for c in state.checklists.values())
        lst.border_subtitle = f"{done}/{total} done" if total else ""
        freeze = freeze_holds(state)
        banner = self.query_one("#checklist-freeze", Static)
        banner.display = freeze is not None
        if freeze is not None:
            why = f": {escape(freeze.reason)}" if freeze.reason else ""
            banner.update(
                f"[b]Change freeze[/b] on {escape(freeze.label)}{why} · deploys need the lock's "
                f"token (set by {escape(freeze.by)})"
            )
        self._show_detail()
        self.refresh_bindings()

    def observe_state(self, state: IncidentState) -> None:
        """Link a production step to the action the lock holder just started for it."""
        if self._pending is None:
            return
        checklist, step, known = self._pending
        mine = [a for k, a in state.actions.items() if k not in known and a.by == self.me]
        if mine:
            self._pending = None
            self.send(ChecklistStepDone, checklist=checklist, step=step, action_id=mine[-1].id)

    @property
    def selected(self) -> tuple[Checklist, ChecklistStep] | None:
        option = self.query_one("#checklist-list", OptionList).highlighted_option
        if option is None or not option.id or option.id.startswith("h"):
            return None
        c, _, s = option.id.partition(".")
        checklist = self.state.checklists.get(int(c))
        step = checklist.step(int(s)) if checklist is not None else None
        return (checklist, step) if checklist is not None and step is not None else None

    def _show_detail(self) -> None:
        chosen = self.selected
        checklist, step = chosen if chosen else (None, None)
        if checklist is None and self.state.checklists:
            checklist = next(iter(self.state.checklists.values()))
            step = checklist.step(1)
        self.query_one("#checklist-detail", Static).update(step_detail(self.state, checklist, step))

    # --- what is offered ----------------------------------------------------------------------
    def probe(self, action: str) -> Probe | None:
        if action in ("freeze", "lift_freeze"):
            return self._freeze_probe(action)
        if action == "attach":
            return RunbookAttached, {"runbook": "x", "title": _SOME, "steps": [{"do": _SOME}]}
        if action == "add":
            checklist = self._checklist_no()
            return ChecklistStepAdded, {"checklist": checklist or 1, "do": _SOME}
        chosen = self.selected if self.is_mounted else None
        if chosen is None:
            return None
        ref = {"checklist": chosen[0].no, "step": chosen[1].no}
        if action == "claim":
            return ChecklistStepClaimed, ref
        if action == "done":
            if chosen[1].changes_production and chosen[1].status.finished is False:
                return None  # done through the action form (see action_done)
            return ChecklistStepDone, ref
        if action == "skip":
            return ChecklistStepSkipped, {**ref, "reason": _SOME}
        if action == "not_applicable":
            return ChecklistStepNotApplicable, ref
        return None

    def _freeze_probe(self, action: str) -> Probe | None:
        if action == "freeze":
            return ChangeFreezeSet, {"targets": ["*"]}
        if action == "lift_freeze":
            return ChangeFreezeLifted, {}
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        if not self.is_mounted or action == "copy":
            return True
        if action == "lift_freeze":
            return True if self.state.freeze is not None and self.allows(action) else None
        if action == "add" and not self.state.checklists:
            return None
        chosen = self.selected
        if action == "done" and chosen is not None and chosen[1].changes_production:
            return None if chosen[1].status.finished else True
        if action in ("attach", "add", "claim", "done", "skip", "not_applicable", "freeze"):
            return True if self.allows(action) else None
        return True

    def _checklist_no(self) -> int | None:
        chosen = self.selected if self.is_mounted else None
        if chosen is not None:
            return chosen[0].no
        return next(iter(self.state.checklists), None)

    # --- actions ------------------------------------------------------------------------------
    @work(exclusive=True, group="checklist-attach")
    async def action_attach(self) -> None:
        app = self.warroom
        try:
            runbooks = await fetch_runbooks(
                app.url, self.state.incident_id, app.token, app.join_code, app.cafile
            )
        except (HubUnreachable, HubRefused) as exc:
            self.say(f"Could not read the hub's runbooks: {exc}")
            return
        attached = {c.runbook for c in self.state.checklists.values()}
        runbooks = [(r, m) for r, m in runbooks if r.name not in attached]
        if not runbooks:
            self.say("The hub has no runbook left to attach ([runbooks] dir, docs/RUNBOOKS.md).")
            return
        self.say("")
        self.app.push_screen(AttachForm(runbooks))

    def action_claim(self) -> None:
        chosen = self.selected
        if chosen is not None:
            self.say("")
            self.send(ChecklistStepClaimed, checklist=chosen[0].no, step=chosen[1].no)

    def action_done(self) -> None:
        chosen = self.selected
        if chosen is None:
            return
        checklist, step = chosen
        if not step.changes_production:
            self.say("")
            self.send(ChecklistStepDone, checklist=checklist.no, step=step.no)
            return
        lock = self.state.lock
        if lock.holder != self.me:
            holder = f"{lock.holder} holds it" if lock.holder else "nobody holds it"
            self.say(
                f"{checklist.label}.{step.no} changes production: only the lock holder does it, "
                f"as a production action ({holder}). Ask for the lock: l on the Lock pane (4)."
            )
            return
        self.say("")
        recorded = actions_for_step(self.state, self.me)
        if recorded:
            chooser = LinkActionForm(checklist, step, recorded)
            self.app.push_screen(chooser, partial(self._link_form_closed, checklist, step))
            return
        self._start_action(checklist, step)

    def _link_form_closed(
        self, checklist: Checklist, step: ChecklistStep, result: int | None
    ) -> None:
        if result == LinkActionForm.NEW:
            self._start_action(checklist, step)

    def _start_action(self, checklist: Checklist, step: ChecklistStep) -> None:
        """The Lock pane's action form, prefilled from the step; its action then does the step."""
        self._pending = (checklist.no, step.no, frozenset(self.state.actions))
        form = ProductionStepForm(self.state.lock.token, self.me, checklist, step)
        self.app.push_screen(form, self._action_form_closed)

    def _action_form_closed(self, started: bool | None) -> None:
        if not started:
            self._pending = None
        else:
            self.observe_state(self.state)  # the action may be in the state already

    def action_skip(self) -> None:
        chosen = self.selected
        if chosen is not None:
            self.app.push_screen(StepReasonForm(*chosen, skip=True))

    def action_not_applicable(self) -> None:
        chosen = self.selected
        if chosen is not None:
            self.app.push_screen(StepReasonForm(*chosen, skip=False))

    def action_add(self) -> None:
        no = self._checklist_no()
        if no is not None:
            self.app.push_screen(StepAddForm(self.state.checklists[no]))

    def action_copy(self) -> None:
        chosen = self.selected
        if chosen is None or not chosen[1].command:
            self.say("This step has no command to copy.")
            return
        self.app.copy_to_clipboard(chosen[1].command)
        self.say(f"Copied: {chosen[1].command}")

    def action_freeze(self) -> None:
        self.app.push_screen(FreezeForm())

    def action_lift_freeze(self) -> None:
        self.say("")
        self.send(ChangeFreezeLifted)
