"""The deploy gate: a pipeline asks before it changes production, and the lock decides.

The IC may put the incident in a **change freeze** for some targets or all. While it holds (until
the freeze is lifted or the incident is resolved), a change to a frozen target is allowed only
when the pipeline presents the fencing token of the live lease: the person changing production
for the room has handed it to their pipeline. No token, a token of an earlier lease (handed on,
released, force-released) or of a lease past its deadline is refused, with the reason. With no
freeze a check is allowed, and recorded all the same: "what changed?" is the first question of
every incident.

Every check is an event on the incident's timeline (``deploy-prod checked checkout-api with
token 3: allowed``), recorded by the hub with the gate credential's name. The decision is made by
:func:`gate_check` against the incident's state at the moment it is written, so a check and a lock
handover cannot cross.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field

from warroom.core.admission import Admission
from warroom.core.checklist import because
from warroom.core.events import Actor, EventBase, Refusal, event, refuse
from warroom.core.gate_state import ALL_TARGETS, ChangeFreeze, valid_target
from warroom.core.phases import Phase
from warroom.core.production import LEASE_END_WORDS, LeaseEnd
from warroom.core.state import IncidentState

MAX_REASON = 500
MAX_TARGETS = 50
#: What a gate credential is called: one per pipeline.
GATE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


def freeze_holds(state: IncidentState) -> ChangeFreeze | None:
    """The freeze in force: set, and the incident not resolved yet."""
    if state.freeze is None or state.phase.index >= Phase.RESOLVED.index:
        return None
    return state.freeze


@dataclass(frozen=True)
class Verdict:
    """What the gate says about one change in one incident: ``reason`` is a stable code."""

    allowed: bool
    reason: str
    message: str


def verdict(state: IncidentState, target: str, token: int | None, now: datetime) -> Verdict:
    """Whether a change to ``target`` presenting ``token`` may go ahead in this incident now."""
    freeze = freeze_holds(state)
    if freeze is None:
        why = "no change freeze" if state.freeze is None else f"the incident is {state.phase}"
        return Verdict(True, "not_frozen", f"Allowed: {why}.")
    if not freeze.covers(target):
        return Verdict(True, "not_frozen", f"Allowed: the freeze is on {freeze.label} only.")
    lock = state.lock
    if token is None:
        why = f" ({freeze.reason})" if freeze.reason else ""
        return Verdict(
            False,
            "no_token",
            f"{target} is frozen{why}: present the live production lease's fencing token "
            "(--token).",
        )
    grant = lock.grant_of(token)
    if grant is None or token != lock.token or lock.holder is None:
        if grant is not None and grant.ended is not None:
            how = LEASE_END_WORDS[grant.ended]
            code = "lease_expired" if grant.ended == LeaseEnd.EXPIRED else "stale_token"
            return Verdict(
                False, code, f"Token {token} was {grant.holder}'s lease, which has {how}."
            )
        return Verdict(False, "stale_token", f"Token {token} is not a lease of this incident.")
    if lock.expires_at is not None and now >= lock.expires_at:
        return Verdict(
            False, "lease_expired", f"{lock.holder}'s lease (token {token}) has run out."
        )
    return Verdict(True, "token_valid", f"Allowed: token {token} is {lock.holder}'s live lease.")


def gate_check(
    state: IncidentState,
    credential: str,
    target: str,
    token: int | None,
    started: bool,
    now: datetime,
) -> Admission:
    """The check as the hub records it: one ``gate_checked`` event; ``notice`` is the refusal
    (``None`` when allowed), so the hub answers from the decision made at write time."""
    found = verdict(state, target, token, now)
    checked = GateChecked(
        credential=credential,
        target=target,
        token=token,
        allowed=found.allowed,
        reason=found.reason,
        message=found.message,
        started=started and found.allowed,
    )
    notice = None if found.allowed else refuse(found.reason, found.message)
    return Admission((checked,), notice)


class GateEvent(EventBase):
    timeline_kind = "gate"


@event
class GateChecked(GateEvent):
    """Recorded by the hub for every check a pipeline makes, allowed or refused."""

    type: Literal["gate_checked"] = "gate_checked"
    hub_only = True

    #: The gate credential's name (one per pipeline), what it changes, the token it showed.
    credential: str
    target: str
    token: int | None = None
    #: The verdict: a stable code (``verdict``'s) and the words for people.
    allowed: bool
    reason: str
    message: str = ""
    #: The pipeline said it is starting the change (``--started``, ``warroom gate report``).
    started: bool = False

    def describe(self) -> str:
        token = f" with token {self.token}" if self.token is not None else " without a token"
        verb = "started a change to" if self.started else "checked"
        outcome = "allowed" if self.allowed else f"refused ({self.message})"
        return f"{self.credential} {verb} {self.target}{token}: {outcome}"


@event
class ChangeFreezeSet(GateEvent):
    """The IC freezes changes to some targets (``["*"]``: all) while the incident is worked."""

    type: Literal["change_freeze_set"] = "change_freeze_set"
    targets: list[str] = Field(min_length=1, max_length=MAX_TARGETS)
    reason: str = Field(default="", max_length=MAX_REASON)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not state.is_ic(actor.name):
            return refuse("forbidden", "Only the incident commander freezes changes.")
        bad = [t for t in self.targets if t != ALL_TARGETS and not valid_target(t)]
        rule = "lower-case letters, digits, . _ / -; or * for every target"
        return refuse("invalid", f"{bad[0]!r} is not a target name ({rule}).") if bad else None

    def fold(self, state: IncidentState) -> IncidentState:
        targets = (
            (ALL_TARGETS,) if ALL_TARGETS in self.targets else tuple(dict.fromkeys(self.targets))
        )
        freeze = ChangeFreeze(
            targets=targets, reason=self.reason.strip(), by=self.actor, at=self.at
        )
        return state.model_copy(update={"freeze": freeze})

    def describe(self) -> str:
        what = "every target" if ALL_TARGETS in self.targets else ", ".join(self.targets)
        return f"Change freeze on {what}{because(self.reason)}"


@event
class ChangeFreezeLifted(GateEvent):
    """The IC lifts the change freeze."""

    type: Literal["change_freeze_lifted"] = "change_freeze_lifted"
    reason: str = Field(default="", max_length=MAX_REASON)

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not state.is_ic(actor.name):
            return refuse("forbidden", "Only the incident commander lifts a change freeze.")
        if state.freeze is None:
            return refuse("no_freeze", "There is no change freeze to lift.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        return state.model_copy(update={"freeze": None})

    def describe(self) -> str:
        return f"Change freeze lifted{because(self.reason)}"
