"""The lifecycle forms: severity (with the rubric), phase moves, impact start, triage, dismissal.

Each form builds one command; what the hub would refuse is checked first with the core's own
rules (:func:`~warroom.core.lifecycle.phase_refusal`), so the form says why before anything is
sent, and the hub's refusal, if it still comes, is shown in the form like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from warroom.console.clock_face import shown_times
from warroom.console.css import tcss_beside
from warroom.console.screens.board_form import Built, CommandForm
from warroom.console.screens.form_fields import field_label, text_field
from warroom.core.lifecycle import (
    MAX_ANSWER,
    MAX_REASON,
    MAX_RESOLUTION,
    EscalationDismissed,
    ImpactStartSet,
    PhaseChanged,
    SeverityChanged,
    TriageAnswered,
    phase_refusal,
)
from warroom.core.lifecycle_state import (
    CHOICES,
    DETAIL_FIELD,
    QUESTION_TEXT,
    Escalation,
    TriageQuestion,
)
from warroom.core.local_time import UTC_TIMES, Times
from warroom.core.phases import Phase
from warroom.core.severity import Severity, SeverityPolicy
from warroom.core.state import IncidentState


def minutes_text(span: timedelta | None) -> str:
    """``1 h``, ``90 min``, ``none``: an expectation as the rubric states it."""
    if span is None:
        return "none"
    minutes = int(span.total_seconds() // 60)
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def rubric_prompt(policy: SeverityPolicy, level: Severity, current: Severity) -> Text:
    """One severity as the rubric shows it: meaning, expected time to mitigate, update cadence."""
    text = Text()
    text.append(f"{level.value}", style="bold")
    text.append(" (now)" if level == current else "      ")
    text.append(f" {policy.meaning(level)}\n")
    text.append(f"            {expectations(policy, level)}", style="dim")
    return text


def expectations(policy: SeverityPolicy, level: Severity) -> str:
    """``mitigate within 1 h · updates every 15 min``, or what the level does not expect."""
    mitigate = policy.time_to_mitigate.get(level)
    cadence = policy.update_cadence.get(level)
    first = f"mitigate within {minutes_text(mitigate)}" if mitigate else "never escalates"
    second = f"updates every {minutes_text(cadence)}" if cadence else "no scheduled updates"
    return f"{first} · {second}"


class LifecycleForm(CommandForm):
    """A command form with the lifecycle forms' extra styles.

    The severity and phase pickers follow one rule: they open on the current level or phase,
    marked "(now)", and a digit picks a choice (the digit shown before it) and moves on to the
    reason. Nothing is preselected that one stray Enter could send: both changes are recorded
    for good, re-time the stakeholder updates and are read by everyone in the room.
    """

    DEFAULT_CSS = tcss_beside(__file__)
    #: The option list a digit picks from, and the field the digit moves on to.
    PICKER: str = ""

    def digit_target(self, index: int) -> str | None:
        """The field to move to after picking option ``index`` (None: stay)."""
        return None

    def on_key(self, event: events.Key) -> None:
        character = event.character or ""
        if not self.PICKER or not character.isdigit():
            return
        picker = self.query_one(self.PICKER, OptionList)
        if self.focused is not picker:
            return  # a digit typed in a text field is text
        index = int(character) - 1
        event.stop()
        event.prevent_default()
        if not 0 <= index < picker.option_count:
            return
        picker.highlighted = index
        target = self.digit_target(index)
        if target is not None:
            self.query_one(target, Input).focus()


class IncidentForm(LifecycleForm):
    """A lifecycle form about the incident as it stood when the form opened (``state``)."""

    def __init__(self, state: IncidentState) -> None:
        super().__init__()
        self.state = state


class SeverityForm(IncidentForm):
    """The IC picks a severity from the rubric and says why."""

    HINT = "1-4 or ↑↓ choose · enter next · ctrl+s send · esc cancel"
    ENTER_SENDS = "last"
    PICKER = "#severity-levels"

    def heading(self) -> str:
        return f"Change severity (now {self.state.severity})"

    def digit_target(self, index: int) -> str | None:
        return "#reason"

    def fields(self) -> ComposeResult:
        policy = self.state.settings.policy
        yield field_label("Severity (what each level means on this hub)")
        levels = OptionList(
            *[
                Option(rubric_prompt(policy, level, self.state.severity), id=level.value)
                for level in Severity
            ],
            id="severity-levels",
        )
        yield levels
        yield from text_field("Why (required)", "reason", max_length=MAX_REASON,
                              placeholder="e.g. all regions affected now")  # fmt: skip

    def on_mount(self) -> None:
        levels = self.query_one("#severity-levels", OptionList)
        levels.highlighted = list(Severity).index(self.state.severity)
        levels.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#reason", Input).focus()

    def build(self) -> Built | str:
        option = self.query_one("#severity-levels", OptionList).highlighted_option
        if option is None or option.id is None:
            return "Choose a severity."
        level = Severity(option.id)
        if level == self.state.severity:
            return f"The incident is already {level}; choose another level."
        reason = self.typed("#reason")
        if not reason:
            return "Say why the severity changes."
        return SeverityChanged, {
            "severity": level.value,
            "reason": reason,
            "previous": self.state.severity.value,
        }


class PhaseForm(IncidentForm):
    """The IC moves the incident to another phase, with a reason or a resolution as needed."""

    HINT = "1-6 or ↑↓ choose · enter next · ctrl+s send · esc cancel"
    ENTER_SENDS = "last"
    PICKER = "#phase-targets"

    def __init__(self, state: IncidentState, me: str) -> None:
        super().__init__(state)
        self.me = me

    def heading(self) -> str:
        return f"Move the incident (now {self.state.phase.value})"

    def fields(self) -> ComposeResult:
        current = self.state.phase
        yield Static(
            "Forward may skip phases; resolved needs a resolution summary and closed only "
            "follows resolved. Moving back needs a reason.",
            classes="form-note",
        )
        yield OptionList(
            *[
                Option(
                    f"{number} {phase.value}{'  (now)' if phase == current else ''}",
                    id=phase.value,
                )
                for number, phase in enumerate(Phase, 1)
            ],
            id="phase-targets",
        )
        # The resolution comes before the reason, so Enter in the reason (the last field) sends.
        yield from text_field("Resolution summary (required for resolved)", "resolution",
                              placeholder="e.g. rolled back v2.3.1; connection leak fixed in v2.3.2",
                              max_length=MAX_RESOLUTION)  # fmt: skip
        yield from text_field("Reason (required to move back or reopen)", "reason",
                              placeholder="e.g. errors are back after the rollback",
                              max_length=MAX_REASON)  # fmt: skip

    def on_mount(self) -> None:
        targets = self.query_one("#phase-targets", OptionList)
        targets.highlighted = self.state.phase.index
        targets.focus()

    def digit_target(self, index: int) -> str | None:
        return "#resolution" if list(Phase)[index] == Phase.RESOLVED else "#reason"

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        target = Phase(event.option.id or self.state.phase)
        field = "#resolution" if target == Phase.RESOLVED else "#reason"
        self.query_one(field, Input).focus()

    def build(self) -> Built | str:
        option = self.query_one("#phase-targets", OptionList).highlighted_option
        if option is None or option.id is None:
            return "Choose a phase."
        target = Phase(option.id)
        if target == self.state.phase:
            return f"The incident is already {target.value}; choose another phase."
        reason, resolution = self.typed("#reason"), self.typed("#resolution")
        if target != Phase.RESOLVED:
            resolution = ""
        refusal = phase_refusal(self.state, self.me, target, reason, resolution)
        if refusal is not None:
            return refusal.message
        payload: dict[str, object] = {"phase": target.value, "previous": self.state.phase.value}
        if reason:
            payload["reason"] = reason
        if resolution:
            payload["resolution"] = resolution
        return PhaseChanged, payload


def parse_when(text: str, day: datetime, times: Times = UTC_TIMES) -> datetime | None:
    """``HH:MM`` (on ``day``'s date) or ``YYYY-MM-DD HH:MM``, on the console's clock
    (``times``), or full ISO 8601 with its zone."""
    return times.read(text, day, roll_back=False)


class ImpactStartForm(IncidentForm):
    """Anyone says when the impact began; it can be corrected later as facts are learned."""

    ENTER_SENDS = "last"
    FIRST = "#started"

    def heading(self) -> str:
        return "When did the impact start?"

    def fields(self) -> ComposeResult:
        known = self.state.impact_started_at
        detected = self.state.detected_at
        times = shown_times()
        hint = f" (detected {times.hm(detected)})" if detected else ""
        yield from text_field(
            f"Time, {times.label}: HH:MM on the day of detection, or YYYY-MM-DD HH:MM{hint}",
            "started", value=f"{times.local(known):%Y-%m-%d %H:%M}" if known else "",
            placeholder="08:40")  # fmt: skip
        yield from text_field("How we know (optional)", "note", max_length=MAX_REASON,
                              placeholder="e.g. first failed checkout in the logs")  # fmt: skip

    def build(self) -> Built | str:
        day = self.state.detected_at or self.state.declared_at or datetime.now(UTC)
        started = parse_when(self.query_one("#started", Input).value, day, shown_times())
        if started is None:
            return f"Give a time as HH:MM or YYYY-MM-DD HH:MM ({shown_times().label})."
        note = self.typed("#note")
        return ImpactStartSet, {"started_at": started.isoformat(), "note": note}


class TriageForm(IncidentForm):
    """Anyone answers one triage question; a choice question also takes a detail."""

    def __init__(self, state: IncidentState, question: TriageQuestion) -> None:
        super().__init__(state)
        self.question = question

    def heading(self) -> str:
        return QUESTION_TEXT[self.question]

    def fields(self) -> ComposeResult:
        triage = self.state.triage
        choices = CHOICES.get(self.question)
        if choices is None:
            # A label and a placeholder: a bare empty input on the form's surface read as no
            # input at all.
            yield field_label("Answer (what the room knows now; Enter sends)")
            yield Input(value=getattr(triage, self.question.value), id="answer",
                        placeholder="e.g. EU card payments, about 20% of checkouts",
                        max_length=MAX_ANSWER, compact=True)  # fmt: skip
            return
        current = getattr(triage, self.question.value)
        yield Select([(c.value, c.value) for c in choices], value=current.value,
                     allow_blank=False, id="choice", compact=True)  # fmt: skip
        detail_field = DETAIL_FIELD.get(self.question)
        if detail_field is not None:
            yield field_label("Detail (what it means here)")
            yield Input(value=getattr(triage, detail_field), id="detail",
                        max_length=MAX_ANSWER, compact=True)  # fmt: skip

    def on_mount(self) -> None:
        first = self.query("#answer, #choice").first()
        first.focus()

    def build(self) -> Built | str:
        payload: dict[str, object] = {"question": self.question.value}
        if CHOICES.get(self.question) is None:
            payload["answer"] = self.query_one("#answer", Input).value.strip()
        else:
            payload["answer"] = str(self.query_one("#choice", Select).value)
            details = self.query("#detail")
            if details:
                payload["detail"] = details.first(Input).value.strip()
        return TriageAnswered, payload


class DismissEscalationForm(LifecycleForm):
    """The IC keeps the severity despite the hub's proposal, and says why."""

    FIRST = "#reason"

    def __init__(self, proposal: Escalation) -> None:
        super().__init__()
        self.proposal = proposal

    def heading(self) -> str:
        if self.proposal.proposed is None:
            return f"Acknowledge: {self.proposal.severity} past its expected time to mitigate"
        return f"Keep {self.proposal.severity} instead of {self.proposal.proposed}"

    def fields(self) -> ComposeResult:
        yield from text_field("Why (required; it goes on the timeline)", "reason",
                              placeholder="e.g. rollback finishing, errors already falling",
                              max_length=MAX_REASON)  # fmt: skip

    def build(self) -> Built | str:
        reason = self.typed("#reason")
        if not reason:
            return "Say why the severity stays as it is."
        return EscalationDismissed, {"reason": reason}
