"""Who is knocking: a person's token, a shared hub token, an incident's join code, or nobody
(an open hub on loopback).

A personal token proves a name (see ``warroom.hub.people``). A shared hub token proves only that its
holder was given the token: the name they say in ``hello`` is taken on trust, except that it may
not be a registered person's. A join code makes its holder a guest of one incident.

Every secret is compared in constant time, and no secret is ever written to a log: the hub logs
a token's *name* and a join code's public id, and ``warroom.redact`` scrubs the handshake headers
that the websockets library prints when debug logging is on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from warroom.core.access import JOIN_CODE_HEADER, parse_join_code, verify_join_code
from warroom.core.state import IncidentState


class CredentialKind(StrEnum):
    OPEN = "open"  # a hub without tokens or people (loopback only)
    PERSON = "person"  # a personal token: that one person, every incident on the hub
    TOKEN = "token"  # a hub token: every incident on the hub
    CODE = "code"  # a join code: one incident, as a guest


@dataclass(frozen=True)
class Credential:
    """What a connection was let in with.

    ``name`` is the person's name, the shared token's name or the join code's public id.
    """

    kind: CredentialKind
    name: str = ""
    incident_id: str = ""
    #: For a personal token, the digest it matched: a token replaced since no longer counts.
    digest: str = field(default="", repr=False, compare=False)

    @property
    def guest(self) -> bool:
        return self.kind == CredentialKind.CODE

    def describe(self) -> str:
        """For logs: never the secret."""
        if self.guest:
            return f"join code {self.name} of {self.incident_id}"
        if self.kind == CredentialKind.PERSON:
            return f"personal token of {self.name!r}"
        return f"token {self.name!r}" if self.kind == CredentialKind.TOKEN else "open hub"


OPEN = Credential(CredentialKind.OPEN)

#: The hub's current state of an incident by id (None if there is no such incident).
StateLookup = Callable[[str], IncidentState | None]
#: The registered person a presented token belongs to (None if it is nobody's live token).
PersonLookup = Callable[[str], str | None]


def _digest(value: str) -> bytes:
    # Equal-length digests, so the comparison time says nothing about the token's length either.
    return hashlib.sha256(value.encode()).digest()


def match_token(presented: str, tokens: Mapping[str, str]) -> str | None:
    """The name of the token ``presented`` equals, comparing with every token in constant time."""
    wanted = _digest(presented)
    found = None
    for name, secret in tokens.items():
        if hmac.compare_digest(wanted, _digest(secret)) and found is None:
            found = name
    return found


def bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, presented = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    return presented.strip()


def authenticate(
    headers: Mapping[str, str],
    tokens: Mapping[str, str],
    incident_state: StateLookup,
    person: PersonLookup | None = None,
    has_people: bool = False,
) -> Credential | None:
    """The credential a request presents, or None if it must be refused with 401.

    A personal token wins, then a shared hub token, then a join code. On an open hub (no shared
    tokens and nobody registered) anyone on loopback is let in, but someone who presents a join
    code is still treated as that code's guest.
    """
    presented = bearer(headers)
    if presented is not None and person is not None:
        name = person(presented)
        if name is not None:
            return Credential(CredentialKind.PERSON, name, digest=_digest(presented).hex())
    if presented is not None and tokens:
        name = match_token(presented, tokens)
        if name is not None:
            return Credential(CredentialKind.TOKEN, name)
    code_text = headers.get(JOIN_CODE_HEADER)
    if code_text:
        return admit_code(code_text, incident_state)
    if not tokens and not has_people:
        return OPEN
    return None


def admit_code(code_text: str, incident_state: StateLookup) -> Credential | None:
    """The guest credential for a join code that is live on its incident, else None."""
    parsed = parse_join_code(code_text)
    if parsed is None:
        return None
    incident_id, code_id, secret = parsed
    state = incident_state(incident_id)
    access = state.access if state is not None else IncidentState().access
    code = verify_join_code(access, code_id, secret)
    if code is None or state is None:
        return None
    return Credential(CredentialKind.CODE, code.code_id, incident_id)
