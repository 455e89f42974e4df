"""The summary pane: severity and phase, the response times and metrics, and the triage scope.

Everything shown comes from the folded state through the core (:mod:`warroom.core.metrics` for the
numbers, :mod:`warroom.core.lifecycle` for deadlines), so the pane, the export and the postmortem
agree. Anyone but an observer answers triage questions and sets when the impact started; the IC
changes severity and phase, confirms triage answers and decides on an escalation proposal. Keys
that would be refused are not offered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Static

from warroom.console.clock_face import on_day, shown_times
from warroom.console.css import tcss_beside
from warroom.console.redraw import show
from warroom.console.screens.lifecycle_forms import (
    ImpactStartForm,
    PhaseForm,
    SeverityForm,
    TriageForm,
    expectations,
)
from warroom.console.widgets import escalation
from warroom.console.widgets.pane import IncidentPane, Probe
from warroom.console.widgets.status_bar import elapsed as short_duration
from warroom.core.alerts_state import alerts_line
from warroom.core.checklist_state import progress_line
from warroom.core.events import EventBase
from warroom.core.lifecycle import (
    EscalationDismissed,
    ImpactStartSet,
    PhaseChanged,
    SeverityChanged,
    TriageAnswered,
    TriageConfirmed,
    escalation_deadline,
    open_escalation,
)
from warroom.core.lifecycle_state import QUESTION_TEXT, TriageQuestion
from warroom.core.metrics import ResponseMetrics, compute, elapsed
from warroom.core.phases import Phase
from warroom.core.state import IncidentState

DASH = "—"


def span(delta: timedelta | None) -> str:
    """A short duration: ``45s``, ``12m``, ``1h05m``; a dash when not (yet) known."""
    return DASH if delta is None else short_duration(delta, in_days=False)


def clock(at: datetime | None, day: datetime | None) -> str:
    """``HH:MM`` on the console's clock, with the date when it is not the day of ``day``."""
    return DASH if at is None else on_day(at, day)


def headline(state: IncidentState, now: datetime) -> Text:
    """Severity, phase and title; then what the severity means and expects, and any deadline."""
    policy = state.settings.policy
    text = Text()
    text.append(f"{state.severity}", style="bold reverse")
    text.append(f" · {state.phase.value} · ", style="bold")
    text.append(state.title, style="bold")
    text.append(f"\n{state.severity}: {policy.meaning(state.severity)}")
    expects = "\n" + expectations(policy, state.severity).capitalize()
    deadline = escalation_deadline(state)
    if open_escalation(state) is not None:
        expects += " · escalation proposed, waiting for the IC"
    elif deadline is not None:
        left = deadline - now
        when = f"in {span(left)}" if left > timedelta(0) else "passed"
        zone = shown_times().abbrev(deadline)
        expects += f" · escalation due {clock(deadline, state.declared_at)} {zone} ({when})"
    text.append(expects, style="dim")
    alerts = alerts_line(state.alerts)  # issue 20: are the alerts behind it still firing?
    if alerts:
        text.append("\nAlerts: ", style="bold")
        text.append(alerts, style="bold" if state.alerts.firing else "")
    if state.checklists:  # #19: the runbooks' progress
        text.append(f"\nChecklists: {progress_line(state.checklists)}")
    return text


def phase_track(phase: Phase) -> Text:
    """detected › triage › [mitigating] › ...: where the room stands."""
    text = Text()
    for step in Phase:
        if step.index:
            text.append(" › ", style="dim")
        if step == phase:
            text.append(f" {step.value} ", style="bold reverse")
        elif step.index < phase.index:
            text.append(step.value)
        else:
            text.append(step.value, style="dim")
    return text


def times_text(state: IncidentState, metrics: ResponseMetrics) -> Text:
    day = state.declared_at
    rows = [
        ("impact started", clock(metrics.started_at, day) if metrics.started_at else "not set (i)"),
        ("detected", clock(metrics.detected_at, day)),
        ("declared", clock(metrics.declared_at, day)),
        ("mitigated", clock(metrics.mitigated_at, day)),
        ("resolved", clock(metrics.resolved_at, day)),
        ("closed", clock(metrics.closed_at, day)),
    ]
    if state.timezone:  # the clock the room agreed on at declaration
        rows.append(("incident zone", state.timezone))
    text = Text(f"Times ({shown_times().label})\n", style="bold")
    for label, value in rows:
        text.append(f"{label:<16}", style="dim")
        text.append(f"{value}\n")
    return text


def metrics_text(state: IncidentState, metrics: ResponseMetrics, now: datetime) -> Text:
    base = "impact start" if metrics.measured_from == "impact_started" else "detection"
    running = ""
    if metrics.mitigated_at is None and state.declared:
        running = f"  (so far {span(elapsed(state, now))})"
    overdue = DASH if metrics.overdue_updates is None else str(metrics.overdue_updates)
    rows = [
        ("time to detect", span(metrics.time_to_detect)),
        ("time to declare", span(metrics.time_to_declare)),
        ("time to mitigate", span(metrics.time_to_mitigate) + running),
        ("time to resolve", span(metrics.time_to_resolve)),
        ("updates overdue", overdue),
        ("escalations", str(metrics.escalations)),
    ]
    text = Text(f"Metrics (from {base})\n", style="bold")
    for label, value in rows:
        text.append(f"{label:<18}", style="dim")
        text.append(f"{value}\n")
    return text


class SummaryPane(IncidentPane):
    """The incident at a glance, and the lifecycle commands."""

    DEFAULT_CSS = tcss_beside(__file__)
    HELP = (
        "Severity and phase, when things happened and how long they took, and the triage "
        "answers. Anyone answers a triage question (t or enter) and sets when the impact "
        "started (i); the IC changes severity (v) and phase (p), confirms answers (c) and "
        "raises (e) or dismisses (x) an escalation proposal."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "answer", "Answer", id="summary.answer",
                tooltip="Answer the highlighted triage question"),
        Binding("c", "confirm", "Confirm", id="summary.confirm",
                tooltip="Confirm the highlighted triage answer (IC)"),
        Binding("i", "impact_start", "Impact start", id="summary.impact",
                tooltip="Set or correct when the impact started"),
        Binding("v", "severity", "Severity", id="summary.severity",
                tooltip="Change the severity, with the rubric (IC)"),
        Binding("p", "phase", "Phase", id="summary.phase",
                tooltip="Move the incident to another phase (IC)"),
        # Not in the footer: they answer an escalation proposal, and the banner that shows one
        # has its own buttons and names these keys. Seven keys and Help do not fit 80 columns
        # (they pushed out `? Help`); the help screen still lists both.
        Binding("e", "escalate", "Escalate", id="summary.escalate", show=False,
                tooltip="Raise the severity as the escalation proposes (IC)"),
        Binding("x", "dismiss_escalation", "Keep severity", id="summary.dismiss", show=False,
                tooltip="Dismiss the escalation proposal with a reason (IC)"),
    ]  # fmt: skip
    WRITE_ACTIONS = frozenset(
        {"answer", "confirm", "impact_start", "severity", "phase", "escalate", "dismiss_escalation"}
    )

    def compose(self) -> ComposeResult:
        yield Static(id="summary-head")
        yield Static(id="summary-phases")
        with Horizontal(id="summary-numbers"):
            yield Static(id="summary-times")
            yield Static(id="summary-metrics")
        yield Static(id="summary-resolution")
        table: DataTable[str] = DataTable(
            id="summary-triage", cursor_type="row", zebra_stripes=True
        )
        table.border_title = "Triage"
        yield table

    def on_mount(self) -> None:
        table = self.query_one("#summary-triage", DataTable)
        table.add_columns("Question", "Answer", "By", "Confirmed")
        super().on_mount()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if self.display and self.state.declared:
            self._render_clocks(self.state)

    # --- rendering ----------------------------------------------------------------------------
    def render_state(self, state: IncidentState) -> None:
        self.query_one("#summary-phases", Static).update(phase_track(state.phase))
        resolution = self.query_one("#summary-resolution", Static)
        resolution.update(f"Resolution: {state.resolution}" if state.resolution else "")
        resolution.display = bool(state.resolution)
        self._render_clocks(state)
        self._render_triage(state)
        self.refresh_bindings()

    def _render_clocks(self, state: IncidentState) -> None:
        now = self.warroom.clock()
        metrics = compute(state)
        show(self.query_one("#summary-head", Static), headline(state, now))
        show(self.query_one("#summary-times", Static), times_text(state, metrics))
        show(self.query_one("#summary-metrics", Static), metrics_text(state, metrics, now))

    def _render_triage(self, state: IncidentState) -> None:
        table = self.query_one("#summary-triage", DataTable)
        row = table.cursor_row
        table.clear()
        for question in TriageQuestion:
            mark = state.triage_marks.get(question)
            answer = state.triage.answer(question) if mark else "not asked yet"
            confirmed = (
                f"✓ {mark.confirmed_by}" if mark and mark.confirmed else ("open" if mark else "")
            )
            table.add_row(
                QUESTION_TEXT[question],
                Text(answer, style="" if mark else "dim"),
                mark.by if mark else "",
                confirmed,
                key=question.value,
            )
        table.move_cursor(row=min(row, table.row_count - 1))
        table.border_subtitle = (
            f"{sum(m.confirmed for m in state.triage_marks.values())}/{len(TriageQuestion)} "
            "confirmed"
        )

    @property
    def question(self) -> TriageQuestion:
        """The highlighted triage question."""
        table = self.query_one("#summary-triage", DataTable)
        return list(TriageQuestion)[max(0, table.cursor_row)]

    @on(DataTable.RowHighlighted)
    @on(events.DescendantFocus)
    def _moved(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.check_action("answer", ()):
            self.action_answer()

    # --- what is offered ----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        if not self.is_mounted or action not in self.WRITE_ACTIONS:
            return True
        return True if self.allows(action) else None

    def probe(self, action: str) -> Probe | type[EventBase] | None:
        state = self.state
        if action == "answer":
            return TriageAnswered  # the answer is the form's; its type-wide rules apply
        if action == "impact_start":
            return ImpactStartSet
        if action == "confirm":
            mark = state.triage_marks.get(self.question)
            return TriageConfirmed, {"question": self.question.value,
                                        "answer_seq": mark.seq if mark else None}  # fmt: skip
        proposal = open_escalation(state)
        if action == "escalate":
            if proposal is None or proposal.proposed is None:
                return None
            return SeverityChanged, {"severity": proposal.proposed.value, "escalation": True,
                                        "previous": proposal.severity.value,
                                        "reason": escalation.accept_reason(proposal)}  # fmt: skip
        if action == "dismiss_escalation":
            return None if proposal is None else (EscalationDismissed, {"reason": "?"})
        if action == "severity":
            other = "SEV1" if state.severity != "SEV1" else "SEV2"
            return SeverityChanged, {"severity": other, "reason": "?",
                                        "previous": state.severity.value}  # fmt: skip
        if action == "phase":
            target = Phase.TRIAGE if state.phase != Phase.TRIAGE else Phase.MITIGATING
            return PhaseChanged, {"phase": target.value, "previous": state.phase.value,
                                     "reason": "?"}  # fmt: skip
        return None

    # --- actions ------------------------------------------------------------------------------
    def action_answer(self) -> None:
        self._open(TriageForm(self.state, self.question))

    def action_confirm(self) -> None:
        mark = self.state.triage_marks.get(self.question)
        if mark is not None:
            self.send(TriageConfirmed, question=self.question.value, answer_seq=mark.seq)

    def action_impact_start(self) -> None:
        self._open(ImpactStartForm(self.state))

    def action_severity(self) -> None:
        self._open(SeverityForm(self.state))

    def action_phase(self) -> None:
        self._open(PhaseForm(self.state, self.me))

    def action_escalate(self) -> None:
        escalation.accept(self)

    def action_dismiss_escalation(self) -> None:
        escalation.dismiss(self)

    def _open(self, form: Screen[Any]) -> None:
        self.app.push_screen(form)
