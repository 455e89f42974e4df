"""The production lock: one changer at a time, as a lease with a fencing token.

Two people changing production at once turn one incident into two, and nobody can tell which
change moved the graphs. So an incident has one lock. Asking for it grants it when it is free and
otherwise queues the asker, in the order the hub received the requests. The lease lasts
``settings.lock_ttl`` from the grant or the last renewal; when it ends (released, expired,
force-released by the IC) the lock passes to the first in the queue, or becomes free.

Every grant carries a fencing token one higher than the last. A production action names the token
it was started under, and :func:`fence` refuses it unless that is the token of a live lease held
by the sender, so a holder whose lease ended (or anyone with a made-up number) cannot change
production. A holder who goes offline keeps the lease until it expires: a network blip must not
hand production to someone else mid-change.

Expiry is a hub timer using the hub's clock; its event id is derived from the incident and the
token, so one lease expires exactly once, even across a hub restart.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from warroom.core.events import Actor, EventBase, Refusal, event, refuse, require_reason
from warroom.core.phases import Phase
from warroom.core.production import (
    LEASE_END_WORDS,
    GrantVia,
    LeaseEnd,
    LockGrant,
    ProductionLock,
)
from warroom.core.roles import HUB_ACTOR
from warroom.core.state import IncidentState
from warroom.core.timers import timer

#: Namespace of the ids of hub-recorded lock events (uuid5 of incident, purpose and token).
LOCK_NAMESPACE = uuid.UUID("6f1d3c52-5e0b-4f8e-9a51-1c7b0e2d4a90")

MAX_REASON = 500


# --- pure helpers the events, the hub and the console share -----------------------------------
def fence(state: IncidentState, name: str, token: int, now: datetime) -> Refusal | None:
    """Whether ``name`` may act on production under ``token`` at ``now``.

    Allowed only for the current holder, with the current lease's token, before the lease's
    deadline (by the hub's clock, even if the expiry has not been recorded yet).
    """
    lock = state.lock
    if lock.holder != name:
        mine = lock.grant_of(token)
        if mine is not None and mine.holder == name and mine.ended is not None:
            how = LEASE_END_WORDS[mine.ended]
            return refuse(
                "stale_token",
                f"Your lease with token {token} has ended ({how}); request the lock again.",
            )
        now_held = f"{lock.holder} holds it" if lock.holder else "nobody holds it"
        return refuse(
            "not_holder",
            f"Only the holder of the production lock may do this ({now_held}).",
        )
    if token != lock.token:
        return refuse(
            "stale_token",
            f"Token {token} is not your lease's token ({lock.token}); nothing was done.",
        )
    if lock.expires_at is not None and now >= lock.expires_at:
        return refuse("lease_expired", "Your lease has expired; request the lock again.")
    return None


def renew_window(ttl: timedelta) -> timedelta:
    """How long before expiry the console offers renewal: a fifth of the lease, at most 2 min."""
    return min(ttl / 5, timedelta(minutes=2))


def renewal_due(state: IncidentState, name: str, now: datetime) -> bool:
    """Whether ``name`` holds the lock and its lease ends soon enough to offer renewal."""
    lock = state.lock
    if lock.holder != name or lock.expires_at is None:
        return False
    return lock.expires_at - now <= renew_window(state.settings.lock_ttl)


def expires_in(state: IncidentState, now: datetime) -> timedelta | None:
    """Time left on the current lease (never negative), or ``None`` when the lock is free."""
    if state.lock.expires_at is None:
        return None
    return max(state.lock.expires_at - now, timedelta(0))


def held_for(state: IncidentState, now: datetime) -> timedelta | None:
    """How long the current holder has held the lock, or ``None`` when it is free."""
    if state.lock.granted_at is None:
        return None
    return max(now - state.lock.granted_at, timedelta(0))


def short_duration(delta: timedelta) -> str:
    """``4m05s``, ``1h02m``, ``45s``: precise enough for the lock pane."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


def mm_ss(delta: timedelta) -> str:
    """``05:55``: a countdown, read at a glance; ``1h05m`` from an hour up (a lease may last
    four hours, and ``239:30`` is no reading for a tired person)."""
    if delta >= timedelta(hours=1):
        return short_duration(delta)
    minutes, seconds = divmod(max(0, int(delta.total_seconds())), 60)
    return f"{minutes:02d}:{seconds:02d}"


def lock_summary(state: IncidentState, now: datetime) -> str:
    """The status bar's line: holder, held for, time left on the lease, queue length.

    Compact (``lock bo 4m · 05:55 left · 1 waiting``) because it shares one 80-column line.
    """
    lock = state.lock
    waiting = f" · {len(lock.queue)} waiting" if lock.queue else ""
    if lock.holder is None:
        return f"lock free{waiting}"
    participant = state.participants.get(lock.holder)
    offline = " (offline)" if participant is not None and not participant.online else ""
    held = held_for(state, now) or timedelta(0)
    held_text = f"{int(held.total_seconds()) // 60}m"
    left = mm_ss(expires_in(state, now) or timedelta(0))
    return f"lock {lock.holder}{offline} {held_text} · {left} left{waiting}"


def _stamp(ev: EventBase) -> datetime:
    if ev.at is None:
        raise ValueError(f"{ev.type} needs the hub's time to be folded")
    return ev.at


def _grant(
    lock: ProductionLock, to: str, at: datetime, ttl: timedelta, via: GrantVia, by: str
) -> ProductionLock:
    """A new lease for ``to`` with the next token; ``to`` leaves the queue if waiting."""
    token = lock.token + 1
    grant = LockGrant(token=token, holder=to, granted_at=at, via=via, by=by)
    return lock.model_copy(
        update={
            "holder": to,
            "token": token,
            "granted_at": at,
            "expires_at": at + ttl,
            "renewals": 0,
            "queue": tuple(n for n in lock.queue if n != to),
            "grants": (*lock.grants, grant),
        }
    )


def _end(
    lock: ProductionLock, at: datetime, how: LeaseEnd, by: str, reason: str = ""
) -> ProductionLock:
    """The current lease ends; the lock is free until someone is granted it."""
    grants = lock.grants
    if grants and grants[-1].ended is None:
        closed = grants[-1].model_copy(
            update={"ended_at": at, "ended": how, "ended_by": by, "reason": reason}
        )
        grants = (*grants[:-1], closed)
    return lock.model_copy(
        update={"holder": None, "granted_at": None, "expires_at": None, "grants": grants}
    )


def _pass_on(lock: ProductionLock, at: datetime, ttl: timedelta, by: str) -> ProductionLock:
    """Give a free lock to the first in the queue, if anyone is waiting."""
    if lock.holder is None and lock.queue:
        return _grant(lock, lock.queue[0], at, ttl, GrantVia.QUEUE, by)
    return lock


def _with_lock(state: IncidentState, lock: ProductionLock) -> IncidentState:
    return state.model_copy(update={"lock": lock})


# --- events -----------------------------------------------------------------------------------
class LockEvent(EventBase):
    """Shared by the lock's events: their kind on the timeline."""

    timeline_kind = "lock"


@event
class LockRequested(LockEvent):
    """Ask for the lock: granted at once if it is free, else the asker joins the queue."""

    type: Literal["lock_requested"] = "lock_requested"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        lock = state.lock
        if lock.holder == actor.name:
            return refuse("already_holder", "You already hold the production lock.")
        if actor.name in lock.queue:
            place = lock.position(actor.name)
            return refuse("already_queued", f"You are already number {place} in the queue.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        lock = state.lock
        if lock.holder is None:
            ttl = state.settings.lock_ttl
            return _with_lock(
                state, _grant(lock, self.actor, _stamp(self), ttl, GrantVia.REQUEST, self.actor)
            )
        return _with_lock(state, lock.model_copy(update={"queue": (*lock.queue, self.actor)}))

    def describe(self) -> str:
        return f"{self.actor} asked for the production lock"


@event
class LockWithdrawn(LockEvent):
    """Leave the queue without waiting for a turn."""

    type: Literal["lock_withdrawn"] = "lock_withdrawn"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if actor.name not in state.lock.queue:
            return refuse("not_queued", "You are not in the queue for the production lock.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        queue = tuple(n for n in state.lock.queue if n != self.actor)
        return _with_lock(state, state.lock.model_copy(update={"queue": queue}))

    def describe(self) -> str:
        return f"{self.actor} left the queue for the production lock"


@event
class LockRenewed(LockEvent):
    """The holder extends the lease to a full time to live from now."""

    type: Literal["lock_renewed"] = "lock_renewed"
    token: int = Field(ge=1)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        return fence(state, actor.name, self.token, now)

    def fold(self, state: IncidentState) -> IncidentState:
        lock = state.lock
        if lock.holder is None or lock.token != self.token:
            return state
        expires = _stamp(self) + state.settings.lock_ttl
        return _with_lock(
            state, lock.model_copy(update={"expires_at": expires, "renewals": lock.renewals + 1})
        )

    def describe(self) -> str:
        return f"{self.actor} renewed the production lock (token {self.token})"


@event
class LockReleased(LockEvent):
    """The holder is done; the lock passes to the first in the queue."""

    type: Literal["lock_released"] = "lock_released"
    token: int = Field(ge=1)
    note: str = Field(default="", max_length=MAX_REASON)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        lock = state.lock
        if lock.holder != actor.name:
            return fence(state, actor.name, self.token, now)
        if self.token != lock.token:
            return refuse("stale_token", f"Token {self.token} is not your lease's ({lock.token}).")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        if state.lock.holder != self.actor or state.lock.token != self.token:
            return state
        at, ttl = _stamp(self), state.settings.lock_ttl
        ended = _end(state.lock, at, LeaseEnd.RELEASED, self.actor, self.note)
        return _with_lock(state, _pass_on(ended, at, ttl, self.actor))

    def describe(self) -> str:
        note = f": {self.note}" if self.note else ""
        return f"{self.actor} released the production lock (token {self.token}){note}"


@event
class LockExpired(LockEvent):
    """Recorded by the hub when a lease reaches its deadline unrenewed."""

    type: Literal["lock_expired"] = "lock_expired"
    token: int
    holder: str

    hub_only = True

    def fold(self, state: IncidentState) -> IncidentState:
        if state.lock.holder != self.holder or state.lock.token != self.token:
            return state
        at, ttl = _stamp(self), state.settings.lock_ttl
        ended = _end(state.lock, at, LeaseEnd.EXPIRED, HUB_ACTOR)
        return _with_lock(state, _pass_on(ended, at, ttl, HUB_ACTOR))

    def describe(self) -> str:
        return f"{self.holder}'s lease on the production lock expired (token {self.token})"


class IcLockEvent(LockEvent):
    """Rules shared by the IC's overrides: only the IC, and only against the lock they saw."""

    #: The lock's token as the IC saw it; a different one means the lock moved meanwhile.
    token: int = Field(ge=0)
    reason: str = Field(default="", max_length=MAX_REASON)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not state.is_ic(actor.name):
            return refuse("forbidden", "Only the incident commander can override the lock.")
        if self.token != state.lock.token:
            return refuse(
                "stale_token",
                f"The lock changed since you looked (token {state.lock.token}, not "
                f"{self.token}); look again.",
            )
        return None


@event
class LockForceReleased(IcLockEvent):
    """The IC takes the lock away from its holder; it passes to the first in the queue."""

    type: Literal["lock_force_released"] = "lock_force_released"
    #: Required: left out or blank is refused with ``reason_required`` (see ``check``).
    reason: str = Field(default="", max_length=MAX_REASON)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = super().check(state, actor, now)
        if refusal is not None:
            return refusal
        if state.lock.holder is None:
            return refuse("lock_free", "Nobody holds the production lock.")
        return require_reason(self.reason, "Say why the lock is being taken away.")

    def fold(self, state: IncidentState) -> IncidentState:
        if state.lock.holder is None or state.lock.token != self.token:
            return state
        at, ttl = _stamp(self), state.settings.lock_ttl
        ended = _end(state.lock, at, LeaseEnd.FORCED, self.actor, self.reason)
        return _with_lock(state, _pass_on(ended, at, ttl, self.actor))

    def describe(self) -> str:
        return (
            f"{self.actor} force-released the production lock (token {self.token}): {self.reason}"
        )


@event
class LockHandedOver(IcLockEvent):
    """The IC gives the lock to a named participant, ending any current lease."""

    type: Literal["lock_handed_over"] = "lock_handed_over"
    to: str = Field(min_length=1)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = super().check(state, actor, now)
        if refusal is not None:
            return refusal
        if self.to not in state.participants:
            return refuse("unknown_participant", f"Nobody called {self.to!r} has joined.")
        if state.is_observer(self.to):
            return refuse(
                "forbidden", f"{self.to} joined as an observer and cannot change production."
            )
        if state.lock.holder == self.to:
            return refuse("already_holder", f"{self.to} already holds the production lock.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        if state.lock.token != self.token:
            return state
        at, ttl = _stamp(self), state.settings.lock_ttl
        lock = state.lock
        if lock.holder is not None:
            lock = _end(lock, at, LeaseEnd.HANDED_OVER, self.actor, self.reason)
        return _with_lock(state, _grant(lock, self.to, at, ttl, GrantVia.HANDOVER, self.actor))

    def describe(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"{self.actor} handed the production lock to {self.to}{why}"


# --- timers -----------------------------------------------------------------------------------
def expiry_id(incident_id: str, token: int) -> uuid.UUID:
    """The id of the expiry of lease ``token``: the same on every hub start, so it fires once."""
    return uuid.uuid5(LOCK_NAMESPACE, f"{incident_id}:lease-expired:{token}")


@timer
def lease_expiry(state: IncidentState, now: datetime) -> list[EventBase]:
    """The current lease, once its deadline has passed by the hub's clock."""
    lock = state.lock
    if lock.holder is None or lock.expires_at is None or now < lock.expires_at:
        return []
    if state.phase == Phase.CLOSED:
        return []
    return [
        LockExpired(
            id=expiry_id(state.incident_id, lock.token),
            incident_id=state.incident_id,
            token=lock.token,
            holder=lock.holder,
        )
    ]
