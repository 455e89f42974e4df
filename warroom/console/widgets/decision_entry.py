"""How a decision and a follow-up read on the decision pane. Pure functions of the state."""

from __future__ import annotations

from textual.content import Content

from warroom.console.widgets.board_card import MUTED, hm
from warroom.core.board import ItemStatus, quote
from warroom.core.decisions import Decision, FollowUp
from warroom.core.state import IncidentState


def decision_prompt(decision: Decision) -> Content:
    """A decision as one entry of the log: number, time, what; then who and what it rests on."""
    facts = " ".join(f"#{n}" for n in decision.facts)
    meta = [decision.decided_by]
    if decision.owner:
        meta.append(f"carried out by {decision.owner}")
    if facts:
        meta.append(f"rests on {facts}")
    if decision.supersedes:
        meta.append(f"supersedes D{decision.supersedes}")
    parts: list[str | tuple[str, str]] = [
        (f"{decision.label} ", "bold"),
        (f"{hm(decision.at)} ", MUTED),
        decision.what if decision.active else (f"{decision.what}  ", MUTED),
    ]
    if not decision.active:
        parts += [(f"superseded by D{decision.superseded_by}", "bold $warning")]
    parts += ["\n", (" · ".join(meta), MUTED)]
    return Content.assemble(*parts)


def decision_detail(decision: Decision | None, state: IncidentState) -> Content:
    """The why, the options and the facts (with their text, and whether still standing)."""
    if decision is None:
        return Content.styled("No decision recorded yet.", MUTED)
    parts: list[str | tuple[str, str]] = [
        (f"{decision.label} ", "bold"),
        (decision.what, "bold"),
        "\n",
        ("Why ", "bold $accent"),
        decision.why,
    ]
    if decision.options:
        parts += ["\n", ("Options ", "bold $accent"), "; ".join(decision.options)]
    for no in decision.facts:
        card = state.board.get(no)
        text = quote(card.text, 70) if card else "(not on this board)"
        if card is not None and card.status == ItemStatus.RETRACTED:
            retracted = (f"retracted since: {card.reason}", "bold $error")
            parts += ["\n", ("Fact ", "bold $accent"), f"#{no} {text}  ", retracted]
        else:
            parts += ["\n", ("Fact ", "bold $accent"), f"#{no} {text}"]
    if decision.owner:
        parts += ["\n", ("Owner ", "bold $accent"), decision.owner]
    return Content.assemble(*parts)


def follow_up_prompt(item: FollowUp) -> Content:
    """An action item: number, text, owner and due date."""
    return Content.assemble(
        (f"{item.label} ", "bold"),
        item.text,
        "\n",
        (f"{item.owner} · due {item.due.isoformat()} · noted by {item.noted_by}", MUTED),
    )
