"""The console's common actions, each one key from any pane.

Every pane has its own lower-case keys (``2`` then ``g`` adds a guess). The actions a war room
takes most often, and the IC's forms that need a choice and a reason, also have a capital-letter
key that works from every pane: the console shows the action's pane and opens its form at once,
so each of them takes at most three keys plus its text. The palette (``ctrl+p``) names them too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Anywhere:
    """A key that runs ``action`` of the pane ``pane`` from any pane."""

    key: str
    pane: str
    action: str
    #: What the key does, in the help screen and the palette.
    title: str


ANYWHERE: tuple[Anywhere, ...] = (
    Anywhere("A", "board", "add_fact", "Add a confirmed fact to the board"),
    Anywhere("G", "board", "add_guess", "Add a guess to the board"),
    Anywhere("D", "decisions", "decide", "Record a decision (IC)"),
    Anywhere("L", "lock", "request", "Ask for the production lock"),
    Anywhere("I", "comms", "compose('internal')", "Write an internal stakeholder update"),
    Anywhere("E", "comms", "compose('external')", "Write an external stakeholder update"),
    Anywhere("H", "roster", "hand_over_mine", "Hand over your role (IC first), with a briefing"),
    Anywhere("V", "summary", "severity", "Change the severity (IC)"),
    Anywhere("P", "summary", "phase", "Move the incident to another phase (IC)"),
)


def anywhere_key(pane: str, action: str) -> str | None:
    """The capital key that runs ``action`` of ``pane`` from anywhere, if it has one."""
    for item in ANYWHERE:
        if item.pane == pane and item.action == action:
            return item.key
    return None
