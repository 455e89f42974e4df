"""How a board card reads: the short form in its column and the full form in the detail panel.

Pure functions of a card (and the state, for names), so the pane stays a thin layer of widgets and
the same card reads the same in every console.
"""

from __future__ import annotations

from datetime import datetime

from textual.content import Content

from warroom.console.clock_face import hm as shown_hm
from warroom.core.board import BoardItem, ItemKind, ItemStatus
from warroom.core.state import IncidentState

MUTED = "dim"


def hm(at: datetime | None) -> str:
    return shown_hm(at)


def _evidence_count(item: BoardItem) -> str:
    n = len(item.evidence)
    return f" · {n} evidence" if n else ""


def card_status_line(item: BoardItem, me: str) -> str:
    """The second line of a card: who holds it or how it was settled."""
    if item.status == ItemStatus.OPEN:
        if item.owner is None:
            who = "unclaimed"
        elif item.owner == me:
            who = "you are checking"
        else:
            who = f"{item.owner} checking"
        return f"{who}{_evidence_count(item)}"
    if item.status == ItemStatus.RULED_OUT:
        return f"ruled out by {item.resolved_by} {hm(item.resolved_at)}: {item.reason}"
    if item.status == ItemStatus.RETRACTED:
        return f"retracted by {item.resolved_by}: {item.reason}"
    if item.kind == ItemKind.GUESS:
        return f"confirmed by {item.resolved_by} {hm(item.resolved_at)}{_evidence_count(item)}"
    return f"{item.author} {hm(item.added_at)}{_evidence_count(item)}"


def card_prompt(item: BoardItem, me: str) -> Content:
    """A card as one option of its column: number, text, and one muted status line."""
    text_style = ""
    if item.status == ItemStatus.RETRACTED:
        text_style = "strike dim"
    elif item.status == ItemStatus.RULED_OUT:
        text_style = MUTED
    number_style = (
        "bold $warning" if item.owner == me and item.status == ItemStatus.OPEN else "bold"
    )
    text: str | tuple[str, str] = (item.text, text_style) if text_style else item.text
    return Content.assemble(
        (f"{item.label} ", number_style),
        text,
        "\n",
        (card_status_line(item, me), MUTED),
    )


def card_detail(item: BoardItem | None, state: IncidentState) -> Content:
    """Everything about one card: its text, evidence and history, oldest first."""
    if item is None:
        return Content.styled("No card selected. Press a to add a fact or a guess.", MUTED)
    heading = {
        ItemStatus.OPEN: "guess · open",
        ItemStatus.CONFIRMED: "fact" if item.kind == ItemKind.FACT else "fact · a confirmed guess",
        ItemStatus.RULED_OUT: "guess · ruled out",
        ItemStatus.RETRACTED: "fact · retracted",
    }[item.status]
    owner = f" · checked by {item.owner}" if item.owner else ""
    parts: list[str | Content | tuple[str, str]] = [
        (f"{item.label} {heading}{owner}", "bold"),
        "\n",
        item.text,
        "\n",
        (f"added by {item.author} at {hm(item.added_at)}", MUTED),
    ]
    cited = [d.label for d in state.decisions.values() if item.no in d.facts]
    if cited:
        parts += [("  · decisions resting on it: " + ", ".join(cited), MUTED)]
    if item.reason:
        why = "ruled out" if item.status == ItemStatus.RULED_OUT else "retracted"
        parts += ["\n", (f"{why}: {item.reason}", "bold")]
    if item.evidence:
        parts += ["\n", ("Evidence", "bold underline")]
        for note in item.evidence:
            parts += [
                "\n",
                (f"{note.kind.value:<6} ", "$accent"),
                note.text,
                (f"  {note.by} {hm(note.at)}", MUTED),
            ]
    parts += ["\n", ("History", "bold underline")]
    for change in item.history:
        detail = f" {change.detail}" if change.detail else ""
        parts += ["\n", (f"{hm(change.at)} ", MUTED), f"{change.actor} {change.action}{detail}"]
    return Content.assemble(*parts)
