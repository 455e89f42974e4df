"""The IC's decision form: what, why, the options weighed, the facts it rests on, who does it.

Facts are picked from the board's confirmed facts rather than typed, so a decision can only cite
what the room has confirmed. Superseding opens the same form filled in from the decision it
replaces: the IC changes what changed, and the old entry stays as it was, linked to the new one.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, Select, SelectionList

from warroom.console.screens.board_form import Built, CommandForm
from warroom.console.screens.form_fields import field_label, text_field
from warroom.console.widgets.pick import TypeToPick
from warroom.core.board import quote
from warroom.core.decisions import MAX_WHAT, MAX_WHY, Decision, DecisionRecorded
from warroom.core.state import IncidentState

NOBODY = "nobody named"


class DecisionForm(CommandForm):
    """Record a decision, or one that supersedes ``replaces``."""

    HINT = "enter next field · ctrl+s send · esc cancel"
    ENTER_SENDS = "never"
    FIRST = "#what"

    def __init__(self, state: IncidentState, replaces: Decision | None = None) -> None:
        super().__init__()
        self.state = state
        self.replaces = replaces

    def heading(self) -> str:
        if self.replaces is not None:
            return f"Supersede {self.replaces.label}: {quote(self.replaces.what, 50)}"
        return f"Record decision D{len(self.state.decisions) + 1}"

    def fields(self) -> ComposeResult:
        old = self.replaces
        yield from text_field(
            "What was decided",
            "what",
            value=old.what if old else "",
            placeholder="e.g. roll back to v2.3.0",
            max_length=MAX_WHAT,
        )
        yield from text_field(
            "Why",
            "why",
            value=old.why if old else "",
            placeholder="the rationale, for the postmortem",
            max_length=MAX_WHY,
        )
        yield from text_field(
            "Options considered (separate with ;)",
            "options",
            value="; ".join(old.options) if old else "",
            placeholder="roll back; hotfix forward; wait",
        )
        facts = [i for i in self.state.board.values() if i.is_fact]
        cited = set(old.facts) if old else set()
        yield field_label("Resting on these confirmed facts (space picks)")
        yield SelectionList[int](
            *[(f"{i.label} {quote(i.text, 60)}", i.no, i.no in cited) for i in facts],
            id="facts",
        )
        people = [
            (name, name) for name in self.state.participants if not self.state.is_observer(name)
        ]
        yield field_label("Carried out by")
        yield TypeToPick(
            people,
            prompt=NOBODY,
            value=old.owner if old and old.owner else Select.NULL,
            id="owner",
            compact=True,
        )

    def build(self) -> Built | str:
        what = self.typed("#what")
        why = self.typed("#why")
        if not what:
            return "Say what was decided."
        if not why:
            return "Say why: the rationale is what the postmortem needs."
        options = [o.strip() for o in self.query_one("#options", Input).value.split(";")]
        owner = self.query_one("#owner", Select).value
        payload: dict[str, object] = {
            "what": what,
            "why": why,
            "options": [o for o in options if o],
            "facts": sorted(self.query_one("#facts", SelectionList).selected),
            "owner": None if owner is Select.NULL else owner,
        }
        if self.replaces is not None:
            payload["supersedes"] = self.replaces.no
        return DecisionRecorded, payload
