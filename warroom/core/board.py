"""The board: confirmed facts kept apart from open guesses, and what was ruled out.

A room under pressure mixes what it knows with what someone suspects, and two people quietly chase
the same hypothesis. The board makes both visible: every card is a fact or a guess with its author,
its evidence and its history; a guess has at most one owner ("I'm checking this"), and taking over
someone else's guess has to be said out loud (``take_over``).

A card is numbered by the ``seq`` of the event that put it on the board, so ``#12`` is also the
timeline entry where it was first written down. Cards are never edited or removed: a guess moves
to confirmed or ruled out, a fact may be retracted, and each move is one event on the timeline.

Item-targeted commands may echo the card's text in ``subject`` so that their timeline line reads
on its own; the hub refuses an echo that does not match the card, so the timeline never misquotes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.events import Actor, EventBase, Refusal, event, refuse, require_reason
from warroom.core.roles import Role

if TYPE_CHECKING:
    from warroom.core.state import IncidentState

#: A card is a sentence, not a report; evidence carries the long text (command output).
MAX_CARD = 500
MAX_EVIDENCE = 4000
#: How much of a card's text a timeline line quotes.
QUOTE = 80


class ItemKind(StrEnum):
    """How a card came onto the board."""

    FACT = "fact"
    GUESS = "guess"


class ItemStatus(StrEnum):
    """Where a card stands now; the column it shows in follows from this."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    RULED_OUT = "ruled_out"
    RETRACTED = "retracted"


class Column(StrEnum):
    """The board's three columns, left to right."""

    FACTS = "facts"
    GUESSES = "guesses"
    RULED_OUT = "ruled_out"


COLUMN_TITLES: dict[Column, str] = {
    Column.FACTS: "Confirmed facts",
    Column.GUESSES: "Open guesses",
    Column.RULED_OUT: "Ruled out",
}


class EvidenceKind(StrEnum):
    """What a piece of evidence is, so the card can say where to look."""

    LINK = "link"
    QUERY = "query"
    GRAPH = "graph"
    OUTPUT = "output"
    NOTE = "note"


class EvidenceNote(BaseModel):
    """Evidence as a command carries it: what kind, and the text (URL, query, excerpt...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EvidenceKind = EvidenceKind.NOTE
    text: str = Field(min_length=1, max_length=MAX_EVIDENCE)


class Evidence(BaseModel):
    """Evidence on a card, with who attached it and when."""

    model_config = ConfigDict(frozen=True)

    kind: EvidenceKind
    text: str
    by: str
    at: datetime | None = None
    seq: int = 0


class ItemChange(BaseModel):
    """One step in a card's history: kept when a guess becomes a fact."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime | None = None
    actor: str
    action: str
    detail: str = ""


class BoardItem(BaseModel):
    """One card on the board."""

    model_config = ConfigDict(frozen=True)

    no: int
    kind: ItemKind
    text: str
    author: str
    added_at: datetime | None = None
    status: ItemStatus = ItemStatus.OPEN
    #: Who is checking a guess; kept on the card after it is confirmed or ruled out.
    owner: str | None = None
    evidence: tuple[Evidence, ...] = ()
    history: tuple[ItemChange, ...] = ()
    #: Who confirmed, ruled out or retracted it, and when.
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    #: Why a guess was ruled out (the evidence's text) or a fact retracted.
    reason: str = ""

    @property
    def column(self) -> Column:
        if self.status == ItemStatus.OPEN:
            return Column.GUESSES
        if self.status == ItemStatus.RULED_OUT:
            return Column.RULED_OUT
        return Column.FACTS

    @property
    def label(self) -> str:
        """``#12`` as people say it in the room."""
        return f"#{self.no}"

    @property
    def is_fact(self) -> bool:
        """A confirmed fact (added as one, or a confirmed guess), not retracted."""
        return self.status == ItemStatus.CONFIRMED


# --- queries shared by the rules, the panes and the status update -----------------------------
def column(state: IncidentState, col: Column) -> list[BoardItem]:
    """The cards of one column in the order the room reads them.

    Live facts come before retracted ones, which stay visible at the bottom of their column.
    """
    items = [i for i in state.board.values() if i.column == col]
    return sorted(items, key=lambda i: (i.status == ItemStatus.RETRACTED, i.no))


def may_resolve(state: IncidentState, name: str, item: BoardItem) -> bool:
    """Whether ``name`` may confirm or rule out ``item``: its owner, the technical lead, the IC."""
    return name in {item.owner, state.holder(Role.LEAD), state.ic} - {None}


def may_retract(state: IncidentState, name: str, item: BoardItem) -> bool:
    """Whether ``name`` may retract the fact ``item``: whoever vouched for it, the lead, the IC."""
    vouched = {item.owner, item.resolved_by}
    if item.kind == ItemKind.FACT:
        vouched.add(item.author)
    return may_resolve(state, name, item) or name in vouched - {None}


def quote(text: str, limit: int = QUOTE) -> str:
    """A card's text cut for one timeline line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _evidence(note: EvidenceNote, ev: EventBase) -> Evidence:
    return Evidence(kind=note.kind, text=note.text, by=ev.actor, at=ev.at, seq=ev.seq)


def _change(ev: EventBase, action: str, detail: str = "") -> ItemChange:
    return ItemChange(seq=ev.seq, at=ev.at, actor=ev.actor, action=action, detail=detail)


def _replace(state: IncidentState, item: BoardItem) -> IncidentState:
    board = dict(state.board)
    board[item.no] = item
    return state.model_copy(update={"board": board})


# --- events ------------------------------------------------------------------------------------
@event
class BoardItemAdded(EventBase):
    """Someone puts a fact or a guess on the board, with any evidence they already have."""

    type: Literal["board_item_added"] = "board_item_added"
    kind: ItemKind
    text: str = Field(min_length=1, max_length=MAX_CARD)
    evidence: list[EvidenceNote] = Field(default_factory=list, max_length=20)

    timeline_kind = "board"
    amendable = True
    amendable_limit = MAX_CARD
    retimable = True

    def amendable_text(self) -> str:
        return self.text

    def amended(self, text: str) -> BoardItemAdded:
        return self.model_copy(update={"text": text})

    @classmethod
    def fold_amendment(
        cls, state: IncidentState, seq: int, text: str, by: EventBase
    ) -> IncidentState:
        """The card reads its new text; its history says it was amended, and why."""
        item = state.board.get(seq)
        if item is None:
            return state
        reason = getattr(by, "reason", "")
        change = _change(by, "amended", reason)
        return _replace(
            state, item.model_copy(update={"text": text, "history": (*item.history, change)})
        )

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not self.text.strip():
            return refuse("invalid", "A card needs some text.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        item = BoardItem(
            no=self.seq,
            kind=self.kind,
            text=self.text.strip(),
            author=self.actor,
            added_at=self.at,
            status=ItemStatus.CONFIRMED if self.kind == ItemKind.FACT else ItemStatus.OPEN,
            evidence=tuple(_evidence(n, self) for n in self.evidence),
            history=(_change(self, "added", f"as a {self.kind.value}"),),
        )
        return _replace(state, item)

    def describe(self) -> str:
        what = "Fact" if self.kind == ItemKind.FACT else "Guess"
        number = f" #{self.seq}" if self.seq else ""
        more = f" ({len(self.evidence)} evidence)" if self.evidence else ""
        return f"{what}{number}: {quote(self.text)}{more}"


class _ItemCommand(EventBase):
    """A command about one card: finds it, checks the echoed subject."""

    item: int = Field(ge=1)
    subject: str = Field(default="", max_length=MAX_CARD)

    def _settle(
        self,
        state: IncidentState,
        status: ItemStatus,
        action: str,
        *,
        reason: str = "",
        detail: str = "",
        evidence: EvidenceNote | None = None,
    ) -> IncidentState:
        """The card reaches ``status`` by this event: who and when, in its history, with any
        evidence that came with the move."""
        item = state.board[self.item]
        update: dict[str, object] = {
            "status": status,
            "history": (*item.history, _change(self, action, detail)),
            "resolved_by": self.actor,
            "resolved_at": self.at,
        }
        if reason:
            update["reason"] = reason
        if evidence is not None:
            update["evidence"] = (*item.evidence, _evidence(evidence, self))
        return _replace(state, item.model_copy(update=update))

    def _target(self, state: IncidentState) -> BoardItem | Refusal:
        found = state.board.get(self.item)
        if found is None:
            return refuse("unknown_item", f"There is no card #{self.item} on the board.")
        if self.subject and self.subject.strip() != found.text:
            return refuse("stale", f"Card #{self.item} does not read {quote(self.subject)!r}.")
        return found

    def _open_guess(self, state: IncidentState) -> BoardItem | Refusal:
        found = self._target(state)
        if isinstance(found, Refusal):
            return found
        if found.status != ItemStatus.OPEN:
            where = COLUMN_TITLES[found.column].lower()
            if found.status == ItemStatus.RETRACTED:
                where = "retracted"
            return refuse("not_open", f"#{self.item} is not an open guess (it is {where}).")
        return found

    def _about(self) -> str:
        return f"#{self.item}: {quote(self.subject)}" if self.subject else f"#{self.item}"


@event
class GuessClaimed(_ItemCommand):
    """A responder says "I'm checking this". Taking over someone else's guess needs ``take_over``."""

    type: Literal["guess_claimed"] = "guess_claimed"
    take_over: bool = False
    #: Who held the guess before, stamped into the record only when taking over.
    previous_owner: str | None = None

    timeline_kind = "board"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self._open_guess(state)
        if isinstance(found, Refusal):
            return found
        if found.owner == actor.name:
            return refuse("already_owner", f"You are already checking #{self.item}.")
        if found.owner is not None and not self.take_over:
            return refuse(
                "owned",
                f"{found.owner} is already checking #{self.item}; "
                "claim it with take_over to take it over.",
            )
        if self.previous_owner is not None and self.previous_owner != found.owner:
            return refuse("stale", f"#{self.item} is not held by {self.previous_owner}.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        item = state.board[self.item]
        before = item.owner
        change = (
            _change(self, "took over", f"from {before}") if before else _change(self, "claimed")
        )
        item = item.model_copy(update={"owner": self.actor, "history": (*item.history, change)})
        return _replace(state, item)

    def describe(self) -> str:
        if self.take_over and self.previous_owner:
            return f"Took over guess {self._about()} from {self.previous_owner}"
        if self.take_over:
            return f"Took over guess {self._about()}"
        return f"Checking guess {self._about()}"


@event
class GuessReleased(_ItemCommand):
    """The owner stops checking a guess (or the lead or IC frees it) so someone else can."""

    type: Literal["guess_released"] = "guess_released"

    timeline_kind = "board"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self._open_guess(state)
        if isinstance(found, Refusal):
            return found
        if found.owner is None:
            return refuse("not_owned", f"Nobody is checking #{self.item}.")
        if not may_resolve(state, actor.name, found):
            return refuse(
                "forbidden",
                f"Only {found.owner}, the technical lead or the IC can release #{self.item}.",
            )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        item = state.board[self.item]
        change = _change(self, "released", f"by {self.actor}" if self.actor != item.owner else "")
        item = item.model_copy(update={"owner": None, "history": (*item.history, change)})
        return _replace(state, item)

    def describe(self) -> str:
        return f"Stopped checking guess {self._about()}"


@event
class GuessConfirmed(_ItemCommand):
    """A guess is confirmed and becomes a fact, keeping its author, owner, evidence and history."""

    type: Literal["guess_confirmed"] = "guess_confirmed"
    evidence: EvidenceNote | None = None

    timeline_kind = "board"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self._open_guess(state)
        if isinstance(found, Refusal):
            return found
        if not may_resolve(state, actor.name, found):
            return refuse("forbidden", _who_resolves(found, "confirm"))
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        return self._settle(state, ItemStatus.CONFIRMED, "confirmed", evidence=self.evidence)

    def describe(self) -> str:
        line = f"Confirmed guess {self._about()} (now a fact)"
        if self.evidence:
            line += f"; {self.evidence.kind.value}: {quote(self.evidence.text, 60)}"
        return line


@event
class GuessRuledOut(_ItemCommand):
    """A guess is ruled out, with the evidence that ruled it out."""

    type: Literal["guess_ruled_out"] = "guess_ruled_out"
    evidence: EvidenceNote

    timeline_kind = "board"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self._open_guess(state)
        if isinstance(found, Refusal):
            return found
        if not may_resolve(state, actor.name, found):
            return refuse("forbidden", _who_resolves(found, "rule out"))
        if not self.evidence.text.strip():
            return refuse("invalid", "Say what ruled it out.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        return self._settle(
            state,
            ItemStatus.RULED_OUT,
            "ruled out",
            reason=self.evidence.text.strip(),
            evidence=self.evidence,
        )

    def describe(self) -> str:
        return (
            f"Ruled out guess {self._about()}; "
            f"{self.evidence.kind.value}: {quote(self.evidence.text, 60)}"
        )


@event
class FactRetracted(_ItemCommand):
    """A fact turns out wrong. It stays on the board, marked retracted, with the reason."""

    type: Literal["fact_retracted"] = "fact_retracted"
    #: Required: left out or blank is refused with ``reason_required`` (see ``check``).
    reason: str = Field(default="", max_length=MAX_EVIDENCE)

    timeline_kind = "board"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self._target(state)
        if isinstance(found, Refusal):
            return found
        if found.status == ItemStatus.RETRACTED:
            return refuse("not_a_fact", f"#{self.item} has already been retracted.")
        if found.status != ItemStatus.CONFIRMED:
            return refuse(
                "not_a_fact", f"#{self.item} is not a confirmed fact; rule out guesses instead."
            )
        if not may_retract(state, actor.name, found):
            return refuse(
                "forbidden",
                f"Only whoever vouched for #{self.item}, the technical lead or the IC "
                "can retract it.",
            )
        return require_reason(self.reason, "Say why the fact is retracted.")

    def fold(self, state: IncidentState) -> IncidentState:
        reason = self.reason.strip()
        return self._settle(state, ItemStatus.RETRACTED, "retracted", reason=reason, detail=reason)

    def describe(self) -> str:
        return f"Retracted fact {self._about()}; reason: {quote(self.reason, 60)}"


@event
class EvidenceAdded(_ItemCommand):
    """Evidence for or against any card: a link, a query, a graph, a command's output."""

    type: Literal["evidence_added"] = "evidence_added"
    evidence: EvidenceNote

    timeline_kind = "board"
    amendable = True
    amendable_limit = MAX_EVIDENCE
    retimable = True

    def amendable_text(self) -> str:
        return self.evidence.text

    def amended(self, text: str) -> EvidenceAdded:
        return self.model_copy(update={"evidence": self.evidence.model_copy(update={"text": text})})

    @classmethod
    def fold_amendment(
        cls, state: IncidentState, seq: int, text: str, by: EventBase
    ) -> IncidentState:
        """The evidence on its card reads the new text."""
        for item in state.board.values():
            if any(e.seq == seq for e in item.evidence):
                evidence = tuple(
                    e.model_copy(update={"text": text}) if e.seq == seq else e
                    for e in item.evidence
                )
                change = _change(by, "evidence amended", getattr(by, "reason", ""))
                return _replace(
                    state,
                    item.model_copy(
                        update={"evidence": evidence, "history": (*item.history, change)}
                    ),
                )
        return state

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        found = self._target(state)
        if isinstance(found, Refusal):
            return found
        if not self.evidence.text.strip():
            return refuse("invalid", "Evidence needs some text.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        item = state.board[self.item]
        item = item.model_copy(
            update={
                "evidence": (*item.evidence, _evidence(self.evidence, self)),
                "history": (*item.history, _change(self, "evidence", self.evidence.kind.value)),
            }
        )
        return _replace(state, item)

    def describe(self) -> str:
        return (
            f"Evidence on {self._about()}; "
            f"{self.evidence.kind.value}: {quote(self.evidence.text, 60)}"
        )


def _who_resolves(item: BoardItem, verb: str) -> str:
    if item.owner:
        who = f"{item.owner} (checking it), the technical lead or the IC"
        return f"Only {who} can {verb} {item.label}."
    return (
        f"Only the technical lead or the IC can {verb} {item.label}; "
        "claim it first to do it yourself."
    )
