"""Redaction of secrets: the one permitted rewrite of what the record stored.

A password pasted with a command's output must not stay in the database, every console, every
export and every webhook for good. The IC or the scribe redacts the entry with a reason
(``entry_redacted``): the entry's text (and the text of every amendment of it) becomes
``[redacted by <who>: <reason>]``. Unlike an amendment, the original is not kept anywhere: the
hub rewrites the stored entry in the same transaction that stores the redaction, drops the old
text from its memory, and every console replaces its copy when the redaction reaches it.

The core says who may redact what (:func:`may_redact`, :data:`REDACTABLE_TYPES`), what a redacted
entry reads (:func:`marker`, :func:`scrubbed`) and which stored events a redaction rewrites
(:func:`rewrites_of`); the hub stores, the console shows. Like every correction, the command names
its entry by seq and the hub stamps the entry's type and author on it before the rules run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from warroom.core.comms_state import UpdateFields
from warroom.core.corrections import Correction, EntryCorrection, EntryFix
from warroom.core.events import EVENT_TYPES, Actor, EventBase, Refusal, event, refuse
from warroom.core.events import require_reason as _require_reason
from warroom.core.names import is_guest_name
from warroom.core.roles import Role

if TYPE_CHECKING:
    from warroom.core.state import IncidentState

#: The longest reason: the marker replaces a board card's text, which holds 500 characters.
MAX_REDACT_REASON = 200
#: What people write as text, which may therefore hold a pasted secret: notes, findings,
#: commands run, board cards, evidence (everything that can be amended), stakeholder updates.
REDACTABLE_TYPES: frozenset[str] = frozenset({"update_published"})


class Redaction(EntryFix):
    """Who redacted an entry (and as what), when and why (the text itself is gone)."""

    role: Role = Role.RESPONDER


def marker(by: str, reason: str) -> str:
    """``[redacted by sam: database password]``: what a redacted entry reads everywhere."""
    return f"[redacted by {by}: {' '.join(reason.split())}]"


def redactable(entry_type: str) -> bool:
    """Whether entries of ``entry_type`` hold text people wrote (and so may be redacted)."""
    cls = EVENT_TYPES.get(entry_type)
    return cls is not None and (cls.amendable or entry_type in REDACTABLE_TYPES)


def may_redact(state: IncidentState, name: str) -> bool:
    """The IC and the scribe redact; nobody else, and never a guest (whatever seat it holds)."""
    if is_guest_name(name):
        return False
    return name in {state.ic, state.holder(Role.SCRIBE)} - {None}


def scrubbed(stored: EventBase, text: str) -> EventBase:
    """``stored`` as it must read once redacted: its text replaced by ``text`` (the marker),
    nothing else of what its author wrote left (an update's template fields go too)."""
    if stored.type == "update_published":
        return stored.model_copy(update={"text": text, "fields": UpdateFields()})
    if stored.type == "entry_amended":
        return stored.model_copy(update={"text": text})
    return stored.amended(text)


def rewrites_of(
    redaction: EntryRedacted,
    state: IncidentState,
    stored: Callable[[int], EventBase | None],
) -> list[EventBase]:
    """The stored events ``redaction`` rewrites, as they must read: the entry, and every
    amendment of it (``state`` is the incident before the redaction; ``stored(seq)`` reads an
    event of the log)."""
    text = marker(redaction.actor, redaction.reason)
    seqs = [redaction.entry, *(c.seq for c in state.corrections.get(redaction.entry, ()))]
    out = []
    for seq in seqs:
        found = stored(seq)
        if found is not None and found.seq == seq:
            out.append(scrubbed(found, text))
    return out


def redact_log(log: list[EventBase], redaction: EntryRedacted, state: IncidentState) -> int:
    """Replace, in a console's copy of the log, the events ``redaction`` rewrites (``state``:
    before the redaction); returns how many it replaced. The log is in seq order."""
    by_seq = {e.seq: i for i, e in enumerate(log)}
    replaced = 0
    for new in rewrites_of(redaction, state, lambda s: log[by_seq[s]] if s in by_seq else None):
        log[by_seq[new.seq]] = new
        replaced += 1
    return replaced


# --- the event ----------------------------------------------------------------------------------
@event
class EntryRedacted(EntryCorrection):
    """An entry's text removed from the record for good, with who did it and why."""

    timeline_kind = "redacted"
    type: Literal["entry_redacted"] = "entry_redacted"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not self.entry_type:
            return refuse("unknown_entry", f"There is no entry #{self.entry} yet.")
        if self.entry_type == "entry_amended":
            return refuse(
                "not_redactable",
                f"#{self.entry} amends an entry: redact that entry, and its amendments are "
                "blanked with it.",
            )
        if not redactable(self.entry_type):
            return refuse(
                "not_redactable",
                f"Entry #{self.entry} ({self.entry_type.replace('_', ' ')}) holds no text people "
                "wrote: only notes, findings, commands run, board cards, evidence and "
                "stakeholder updates can be redacted.",
            )
        if not may_redact(state, actor.name):
            return refuse("forbidden", "Only the IC or the scribe can redact an entry.")
        if self.entry in state.redactions:
            return refuse("invalid", f"#{self.entry} is already redacted.")
        if len(self.reason) > MAX_REDACT_REASON:  # it takes the place of a card's text
            return refuse("invalid", f"Keep the reason under {MAX_REDACT_REASON} characters.")
        return _require_reason(self.reason, "Say why (e.g. a database password was pasted).")

    def fold(self, state: IncidentState) -> IncidentState:
        text = marker(self.actor, self.reason)
        record = Redaction(
            seq=self.seq, at=self.at, by=self.actor, role=self.role, reason=self.reason.strip()
        )
        update: dict[str, object] = {"redactions": {**state.redactions, self.entry: record}}
        versions = state.corrections.get(self.entry)
        if versions:
            blank: tuple[Correction, ...] = tuple(
                v.model_copy(update={"text": text}) for v in versions
            )
            update["corrections"] = {**state.corrections, self.entry: blank}
        after = state.model_copy(update=update)
        if self.entry_type == "update_published":
            updates = [
                u.model_copy(update={"text": text, "fields": UpdateFields()})
                if u.seq == self.entry
                else u
                for u in after.comms.updates
            ]
            return after.model_copy(
                update={"comms": after.comms.model_copy(update={"updates": updates})}
            )
        cls = EVENT_TYPES.get(self.entry_type)
        return cls.fold_amendment(after, self.entry, text, self) if cls is not None else after

    def describe(self) -> str:
        return f"Redacted #{self.entry}; reason: {' '.join(self.reason.split())}"
