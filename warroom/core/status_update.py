"""The IC's internal status line, drafted from the board and the roster.

The practice gives the room one format for internal updates: a timestamp, the current state, the
leading hypothesis or the known cause, who is doing what, and when the next update comes. The IC
should spend their attention on the incident, not on composing that line, so one key drafts it
from what the room already recorded; the IC edits it and posts it as a ``status`` note.

Pure: the same state and time always give the same draft.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from warroom.core.board import BoardItem, ItemKind, ItemStatus, quote
from warroom.core.roles import ROLE_TITLES
from warroom.core.state import IncidentState

#: How much of a card or decision a status line quotes.
STATUS_QUOTE = 60


def draft_status_update(state: IncidentState, now: datetime) -> str:
    """One line in the practice's format, for the IC to edit before posting."""
    parts = [
        f"[{now:%H:%M} UTC] Status update — {current_state(state)}.",
        cause_or_hypothesis(state) + ".",
        who_does_what(state) + ".",
        next_update(state, now) + ".",
    ]
    return " ".join(parts)


def current_state(state: IncidentState) -> str:
    """Severity, phase and title, with the newest confirmed fact that is not the cause."""
    line = f"{state.severity.value} {state.phase.value}: {state.title}"
    cause = known_cause(state)
    facts = [i for i in state.board.values() if i.is_fact and i is not cause]
    if facts:
        newest = max(facts, key=_settled_seq)
        line += f"; {newest.label} {quote(newest.text, STATUS_QUOTE)}"
    return line


def known_cause(state: IncidentState) -> BoardItem | None:
    """The most recently confirmed guess: a hypothesis the room proved is the best known cause."""
    confirmed = [i for i in state.board.values() if i.kind == ItemKind.GUESS and i.is_fact]
    return max(confirmed, key=_settled_seq, default=None)


def leading_hypothesis(state: IncidentState) -> BoardItem | None:
    """The open guess with the most evidence; a claimed one wins a tie, then the older one."""
    open_guesses = [i for i in state.board.values() if i.status == ItemStatus.OPEN]
    return max(
        open_guesses,
        key=lambda i: (len(i.evidence), i.owner is not None, -i.no),
        default=None,
    )


def cause_or_hypothesis(state: IncidentState) -> str:
    cause = known_cause(state)
    if cause is not None:
        return f"Known cause: {cause.label} {quote(cause.text, STATUS_QUOTE)}"
    guess = leading_hypothesis(state)
    if guess is not None:
        return f"Leading hypothesis: {guess.label} {quote(guess.text, STATUS_QUOTE)}"
    return "No hypothesis yet"


def who_does_what(state: IncidentState) -> str:
    """Owners of open guesses and of standing decisions, with their held role if any."""
    tasks: list[str] = []
    for item in sorted(state.board.values(), key=lambda i: i.no):
        if item.status == ItemStatus.OPEN and item.owner:
            tasks.append(f"{_who(state, item.owner)} checking {item.label}")
    for decision in sorted(state.decisions.values(), key=lambda d: d.no):
        if decision.active and decision.owner:
            what = quote(decision.what, 40)
            tasks.append(f"{_who(state, decision.owner)} carrying out {decision.label} ({what})")
    if not tasks:
        return "Nobody is checking anything yet"
    return "; ".join(tasks)


def next_update(state: IncidentState, now: datetime) -> str:
    """When the room hears from the IC next: the severity's update cadence from now."""
    cadence = state.settings.policy.update_cadence.get(state.severity)
    if cadence is None:
        return "Next update when something changes"
    return f"Next update at {now + cadence:%H:%M} (in {_minutes(cadence)})"


def _who(state: IncidentState, name: str) -> str:
    roles = state.roles_of(name)
    return f"{name} ({ROLE_TITLES[roles[0]].lower()})" if roles else name


def _settled_seq(item: BoardItem) -> int:
    """The seq at which a card reached its current status (its last status change)."""
    for change in reversed(item.history):
        if change.action in {"added", "confirmed", "ruled out", "retracted"}:
            return change.seq
    return item.no


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} h"
    return f"{minutes} min"
