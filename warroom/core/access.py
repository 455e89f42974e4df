"""Join codes: per-incident invitations the IC creates and revokes.

A hub token lets its holder into every incident on the hub. A join code lets one person (a vendor,
an engineer from another team) into one incident, as a responder or as an observer, and is
revoked by the IC when they should leave; a revoked code disconnects everyone who entered with it.

A code reads ``INCIDENT:CODE_ID:SECRET``. The console that creates it keeps the secret and
records only its SHA-256 digest, so the secret is never stored, broadcast or exported: the log
holds the public ``code_id`` (to name the code on the timeline and to revoke it) and the digest
(to check a presented code, in constant time). The secret is 144 random bits, so the digest
cannot be reversed by guessing.

The code travels in the websocket handshake, in the ``X-Warroom-Join-Code`` header, never in a
URL (URLs end up in shell history, proxy logs and screenshots).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.events import Actor, EventBase, Refusal, event, refuse
from warroom.core.names import bare_name, confusable_with, valid_incident_id
from warroom.core.roles import Role

if TYPE_CHECKING:
    from warroom.core.state import IncidentState

#: The handshake header a guest presents their join code in.
JOIN_CODE_HEADER = "X-Warroom-Join-Code"
MAX_LABEL = 60
_CODE_ID = re.compile(r"^[0-9a-f]{8}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: Compared against when a presented code id is unknown, so both paths cost the same.
_DUMMY_DIGEST = hashlib.sha256(b"warroom-no-such-code").hexdigest()


class SeatLimit(StrEnum):
    """What a code lets its holder be: a participant (any seat but IC) or an observer."""

    RESPONDER = "responder"
    OBSERVER = "observer"


class JoinCode(BaseModel):
    """One join code as the room knows it: never the secret, only its digest."""

    model_config = ConfigDict(frozen=True)

    code_id: str
    digest: str
    label: str = ""
    seat_limit: SeatLimit = SeatLimit.RESPONDER
    created_by: str = ""
    created_at: datetime | None = None
    revoked: bool = False
    revoked_at: datetime | None = None

    def allows_seat(self, seat: Role) -> bool:
        if seat in (Role.IC, Role.HUB):
            return False
        return self.seat_limit == SeatLimit.RESPONDER or seat == Role.OBSERVER


class AccessState(BaseModel):
    """The incident's join codes and the guests who entered with one."""

    model_config = ConfigDict(frozen=True)

    codes: dict[str, JoinCode] = Field(default_factory=dict)
    #: Guest name -> the code they last entered with.
    guests: dict[str, str] = Field(default_factory=dict)

    def active(self) -> list[JoinCode]:
        return [c for c in self.codes.values() if not c.revoked]


# --- making and checking codes (pure; the console makes, the hub checks) ------------------------
@dataclass(frozen=True)
class IssuedCode:
    """A fresh code: ``code`` is shown once to the IC; the event carries only the digest."""

    code: str
    code_id: str
    digest: str


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_join_code(incident_id: str) -> IssuedCode:
    """A code for ``incident_id``: a random public id and a 144-bit secret."""
    code_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(18)
    return IssuedCode(f"{incident_id}:{code_id}:{secret}", code_id, digest_of(secret))


def parse_join_code(text: str) -> tuple[str, str, str] | None:
    """``(incident_id, code_id, secret)`` from a presented code, or None if it is not one."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        return None
    incident_id, code_id, secret = parts
    if not valid_incident_id(incident_id):
        return None
    if not _CODE_ID.match(code_id) or not _SECRET.match(secret):
        return None
    return incident_id, code_id, secret


def verify_join_code(access: AccessState, code_id: str, secret: str) -> JoinCode | None:
    """The live code matching ``code_id`` and ``secret``, compared in constant time, else None."""
    code = access.codes.get(code_id)
    expected = code.digest if code is not None else _DUMMY_DIGEST
    matches = hmac.compare_digest(digest_of(secret).encode(), expected.encode())
    if code is None or not matches or code.revoked:
        return None
    return code


def check_guest(state: IncidentState, code: JoinCode, name: str, seat: Role) -> Refusal | None:
    """Whether a guest holding ``code`` may be in the incident as ``name`` in ``seat``.

    ``name`` carries the guest marker. It may not look like anyone else's name in the incident
    (a member's above all): a join code must never let its holder pass for a member of the team.
    """
    if not code.allows_seat(seat):
        allowed = "an observer" if code.seat_limit == SeatLimit.OBSERVER else "any seat but IC"
        return refuse("forbidden", f"This join code lets you in as {allowed}, not as {seat}.")
    other = confusable_with(name, state.participants)
    if other is not None:
        if state.is_guest(other):
            return refuse("bad_name", f"{name!r} looks like {other!r}; join under another name.")
        return refuse(
            "forbidden",
            f"{bare_name(name)!r} is taken by a member of the team ({other}); join under "
            "another name.",
        )
    return None


# --- events -------------------------------------------------------------------------------------
def _only_ic(state: IncidentState, actor: Actor, what: str) -> Refusal | None:
    if state.is_guest(actor.name):
        return refuse("forbidden", f"A guest never {what} join codes.")
    if not state.is_ic(actor.name):
        return refuse("forbidden", f"Only the incident commander {what} join codes.")
    return None


@event
class JoinCodeCreated(EventBase):
    """The IC invites someone into this incident with a code; only its digest is recorded."""

    type: Literal["join_code_created"] = "join_code_created"
    code_id: str = Field(pattern=_CODE_ID.pattern)
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    label: str = Field(default="", max_length=MAX_LABEL)
    seat_limit: SeatLimit = SeatLimit.RESPONDER

    timeline_kind = "access"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = _only_ic(state, actor, "creates")
        if refusal is not None:
            return refusal
        if self.code_id in state.access.codes:
            return refuse("invalid", f"Join code {self.code_id} exists already; make a new one.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        code = JoinCode(
            code_id=self.code_id,
            digest=self.digest,
            label=self.label,
            seat_limit=self.seat_limit,
            created_by=self.actor,
            created_at=self.at,
        )
        access = state.access
        codes = {**access.codes, self.code_id: code}
        return state.model_copy(update={"access": access.model_copy(update={"codes": codes})})

    def describe(self) -> str:
        who = "observers" if self.seat_limit == SeatLimit.OBSERVER else "guests"
        label = f" ({self.label})" if self.label else ""
        return f"Join code {self.code_id}{label} created for {who}"


@event
class JoinCodeRevoked(EventBase):
    """The IC ends a code: nobody enters with it again, and whoever did is disconnected."""

    type: Literal["join_code_revoked"] = "join_code_revoked"
    code_id: str = Field(pattern=_CODE_ID.pattern)

    timeline_kind = "access"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = _only_ic(state, actor, "revokes")
        if refusal is not None:
            return refusal
        code = state.access.codes.get(self.code_id)
        if code is None:
            return refuse("unknown_code", f"There is no join code {self.code_id}.")
        if code.revoked:
            return refuse("invalid", f"Join code {self.code_id} was already revoked.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        access = state.access
        code = access.codes.get(self.code_id)
        if code is None:
            return state
        revoked = code.model_copy(update={"revoked": True, "revoked_at": self.at})
        codes = {**access.codes, self.code_id: revoked}
        return state.model_copy(update={"access": access.model_copy(update={"codes": codes})})

    def describe(self) -> str:
        return f"Join code {self.code_id} revoked"


@event
class GuestAdmitted(EventBase):
    """Recorded by the hub when someone first enters the incident with a join code."""

    type: Literal["guest_admitted"] = "guest_admitted"
    name: str
    code_id: str

    hub_only = True
    timeline_kind = "access"

    def fold(self, state: IncidentState) -> IncidentState:
        access = state.access
        guests = {**access.guests, self.name: self.code_id}
        return state.model_copy(update={"access": access.model_copy(update={"guests": guests})})

    def describe(self) -> str:
        return f"{self.name} entered with join code {self.code_id}"
