"""The decision log pane: the IC's decisions, numbered and linked, and the follow-ups.

Everyone reads it; only the IC records and supersedes decisions and drafts the status update
(the keys are greyed out for anyone else, as the hub would refuse them). Anyone but an observer
notes follow-ups, which are listed under the log and go to the postmortem.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from warroom.console.css import tcss_beside
from warroom.console.screens.decision_follow_up import FollowUpForm
from warroom.console.screens.decision_record import DecisionForm
from warroom.console.screens.decision_status import StatusUpdateForm
from warroom.console.widgets.decision_entry import (
    decision_detail,
    decision_prompt,
    follow_up_prompt,
)
from warroom.console.widgets.pane import ListDetailPane, Probe
from warroom.core.decisions import Decision, DecisionRecorded, FollowUpNoted
from warroom.core.state import IncidentState
from warroom.core.status_update import draft_status_update


def _keep_highlight(lst: OptionList, options: list[Option], empty: str) -> None:
    """Replace ``lst``'s options, keeping the highlighted entry.

    A highlight on the newest entry follows the newest, so a new decision shows at once.
    """
    if not options:
        lst.set_options([Option(empty, disabled=True)])
        return
    before = lst.highlighted_option
    on_newest = lst.highlighted is None or lst.highlighted == lst.option_count - 1
    keep = None if on_newest or before is None else before.id
    ruled: list[Option | None] = []
    for option in options:
        if ruled:
            ruled.append(None)  # a rule between entries
        ruled.append(option)
    lst.set_options(ruled)
    ids = [o.id for o in options]
    lst.highlighted = ids.index(keep) if keep in ids else len(options) - 1


class DecisionPane(ListDetailPane):
    """The decision log above, the follow-ups below, the highlighted decision in between."""

    DEFAULT_CSS = tcss_beside(__file__)
    MESSAGE_LINE = "#decision-message"
    HELP = (
        "The IC records each decision with its rationale, the options weighed, the confirmed "
        "facts it rests on and who carries it out. Decisions are never edited: a later one "
        "supersedes them. Anyone but an observer notes follow-ups for the postmortem."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "decide", "Decide", id="decisions.decide", tooltip="Record a decision (IC)"),
        Binding(
            "s",
            "supersede",
            "Supersede",
            id="decisions.supersede",
            tooltip="Record a decision that replaces the highlighted one (IC)",
        ),
        Binding(
            "u",
            "status_update",
            "Status update",
            id="decisions.status",
            tooltip="Draft the internal status line from the board and the roster (IC)",
        ),
        Binding(
            "a",
            "follow_up",
            "Follow-up",
            id="decisions.follow_up",
            tooltip="Note an action item for after the incident",
        ),
        Binding("j", "move(1)", "Next", id="decisions.down", show=False, tooltip="Next entry"),
        Binding(
            "k", "move(-1)", "Previous", id="decisions.up", show=False, tooltip="Previous entry"
        ),
    ]
    WRITE_ACTIONS = frozenset({"decide", "supersede", "status_update", "follow_up"})

    def compose(self) -> ComposeResult:
        log = OptionList(id="decision-list")
        log.border_title = "Decisions"
        yield log
        with VerticalScroll(id="decision-detail-box"):
            yield Static(id="decision-detail")
        follow_ups = OptionList(id="follow-up-list")
        follow_ups.border_title = "Follow-ups"
        yield follow_ups
        yield Static("", id="decision-message")

    # --- rendering ----------------------------------------------------------------------------
    def render_state(self, state: IncidentState) -> None:
        decisions = [
            Option(decision_prompt(d), id=str(d.no))
            for d in sorted(state.decisions.values(), key=lambda d: d.no)
        ]
        log = self.query_one("#decision-list", OptionList)
        _keep_highlight(log, decisions, "No decisions yet. The IC records one with d.")
        log.border_subtitle = str(len(decisions)) if decisions else ""
        follow_ups = [
            Option(follow_up_prompt(f), id=str(f.no))
            for f in sorted(state.follow_ups.values(), key=lambda f: f.no)
        ]
        lst = self.query_one("#follow-up-list", OptionList)
        _keep_highlight(lst, follow_ups, "No follow-ups yet. Anyone notes one with a.")
        lst.border_subtitle = str(len(follow_ups)) if follow_ups else ""
        self._show_detail()
        self.refresh_bindings()

    @property
    def decision(self) -> Decision | None:
        """The highlighted decision."""
        option = self.query_one("#decision-list", OptionList).highlighted_option
        if option is None or not option.id:
            return None
        return self.state.decisions.get(int(option.id))

    def _show_detail(self) -> None:
        detail = decision_detail(self.decision, self.state)
        self.query_one("#decision-detail", Static).update(detail)

    # --- what is offered ----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        if action in ("decide", "status_update"):
            return True if self._is_ic() else None
        if action == "supersede":
            if not self.is_mounted:
                return True
            decision = self.decision
            return True if self._is_ic() and decision is not None and decision.active else None
        if action == "follow_up":
            return True if self.allows(action) else None
        return True

    def probe(self, action: str) -> Probe | None:
        if action in ("decide", "supersede"):
            return DecisionRecorded, {"what": "?", "why": "?"}
        if action == "follow_up":
            due = self.warroom.clock().date().isoformat()
            return FollowUpNoted, {"text": "?", "owner": self.me or "?", "due": due}
        return None

    def _is_ic(self) -> bool:
        return self.allows("decide")

    # --- actions ------------------------------------------------------------------------------
    def action_decide(self) -> None:
        self._open(DecisionForm(self.state))

    def action_supersede(self) -> None:
        decision = self.decision
        if decision is not None and decision.active:
            self._open(DecisionForm(self.state, replaces=decision))

    def action_status_update(self) -> None:
        self._open(StatusUpdateForm(draft_status_update(self.state, self.warroom.clock())))

    def action_follow_up(self) -> None:
        names = [n for n in self.state.participants if not self.state.is_observer(n)]
        self._open(FollowUpForm(names, self.warroom.clock()))

    def action_move(self, step: int) -> None:
        focused = self.screen.focused
        if isinstance(focused, OptionList):
            if step > 0:
                focused.action_cursor_down()
            else:
                focused.action_cursor_up()

    def _open(self, form: Screen[Any]) -> None:
        self.say("")
        self.app.push_screen(form)

    # --- refusals -----------------------------------------------------------------------------
