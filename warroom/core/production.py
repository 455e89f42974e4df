"""The production lock and the production actions as data: what the folded state holds.

Only one responder at a time may change production. The lock is a lease: it is granted to one
participant with a fencing token and an expiry, others wait in a first-come queue, and every
production action records the token it was started under. These models hold no rules; the events
in :mod:`warroom.core.lock` and :mod:`warroom.core.actions` decide and fold.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class GrantVia(StrEnum):
    """How a lease began."""

    REQUEST = "request"
    QUEUE = "queue"
    HANDOVER = "handover"


class LeaseEnd(StrEnum):
    """How a lease ended."""

    RELEASED = "released"
    EXPIRED = "expired"
    FORCED = "forced"
    HANDED_OVER = "handed_over"


LEASE_END_WORDS: dict[LeaseEnd, str] = {
    LeaseEnd.RELEASED: "released",
    LeaseEnd.EXPIRED: "expired",
    LeaseEnd.FORCED: "force-released",
    LeaseEnd.HANDED_OVER: "handed over",
}


class LockGrant(BaseModel):
    """One lease in the lock's history, kept after it ends so the pane and the postmortem can
    say who could change production when."""

    model_config = ConfigDict(frozen=True)

    token: int
    holder: str
    granted_at: datetime | None = None
    via: GrantVia = GrantVia.REQUEST
    #: Who caused the grant: the requester, the releaser whose turn ended, the IC, or the hub.
    by: str = ""
    ended_at: datetime | None = None
    ended: LeaseEnd | None = None
    ended_by: str = ""
    reason: str = ""


class ProductionLock(BaseModel):
    """The one production lock of an incident.

    ``token`` is the fencing token of the latest grant. It only grows, and it is not reset when
    the lock is freed, so a token from any earlier lease can never match again.
    """

    model_config = ConfigDict(frozen=True)

    holder: str | None = None
    token: int = 0
    granted_at: datetime | None = None
    expires_at: datetime | None = None
    renewals: int = 0
    #: Names waiting for the lock, first in line first (the hub's order of receipt).
    queue: tuple[str, ...] = ()
    grants: tuple[LockGrant, ...] = ()

    @property
    def free(self) -> bool:
        return self.holder is None

    def position(self, name: str) -> int | None:
        """1-based place of ``name`` in the queue, or ``None``."""
        return self.queue.index(name) + 1 if name in self.queue else None

    def grant_of(self, token: int) -> LockGrant | None:
        """The lease that was issued ``token``, if any."""
        for grant in reversed(self.grants):
            if grant.token == token:
                return grant
        return None


class ActionKind(StrEnum):
    """What kind of change a production action makes."""

    ROLLBACK = "rollback"
    FLAG_OFF = "feature_flag_off"
    SCALE_UP = "scale_up"
    SCALE_DOWN = "scale_down"
    RESTART = "restart"
    CONFIG_CHANGE = "config_change"
    TRAFFIC_SHIFT = "traffic_shift"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class ActionOutcome(StrEnum):
    """What the metric did after the action, as the person who made it judged."""

    HELPED = "helped"
    NO_CHANGE = "no_change"
    MADE_WORSE = "made_worse"
    UNDONE = "undone"

    @property
    def label(self) -> str:
        return {"made_worse": "made it worse"}.get(self.value, self.value.replace("_", " "))

    @property
    def did_not_help(self) -> bool:
        """A mitigation that did not move the metric the right way should be undone next."""
        return self in (ActionOutcome.NO_CHANGE, ActionOutcome.MADE_WORSE)


class ProductionAction(BaseModel):
    """One change to production, made under the lock, measured before and after."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    token: int
    kind: ActionKind
    target: str
    expected: str
    metric: str
    value_before: str
    by: str
    started_at: datetime | None = None
    #: The earlier action this one reverses, if it is an undo.
    undoes: UUID | None = None
    finished_at: datetime | None = None
    finished_by: str = ""
    value_after: str = ""
    outcome: ActionOutcome | None = None
    note: str = ""
    #: The later action that reversed this one.
    undone_by: UUID | None = None

    @property
    def open(self) -> bool:
        """Started, but the value after has not been recorded yet."""
        return self.outcome is None

    @property
    def wants_undo(self) -> bool:
        """Finished without helping and not reversed yet: undo it before trying the next."""
        return self.outcome is not None and self.outcome.did_not_help and self.undone_by is None
