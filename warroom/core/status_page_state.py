"""Page links as the room knows them, and making and checking their keys (pure).

The events that create and revoke links are in :mod:`warroom.core.status_page`; this module holds
only what :class:`~warroom.core.state.IncidentState` and the hub need, so the state can import it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from warroom.core.comms_state import Audience

MAX_LABEL = 60
LINK_ID = re.compile(r"^[0-9a-f]{12}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")
#: Compared against when a presented link id is unknown, so both paths cost the same.
_DUMMY_DIGEST = hashlib.sha256(b"warroom-no-such-page-link").hexdigest()


class PageLink(BaseModel):
    """One page link as the room knows it: never the secret, only its digest."""

    model_config = ConfigDict(frozen=True)

    link_id: str
    digest: str
    audience: Audience
    label: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class IssuedLink:
    """A fresh link: ``key`` is shown once; the event carries only ``link_id`` and ``digest``."""

    key: str
    link_id: str
    digest: str


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_page_link() -> IssuedLink:
    """A random public id (48 bits, to name it) and a 256-bit secret (to prove it)."""
    link_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return IssuedLink(f"{link_id}.{secret}", link_id, digest_of(secret))


def page_url(hub_url: str, incident_id: str, key: str) -> str:
    """The address to hand out: the hub's own address in http(s), the page, the key."""
    base = hub_url.rstrip("/")
    if base.startswith("ws://"):
        base = "http://" + base.removeprefix("ws://")
    elif base.startswith("wss://"):
        base = "https://" + base.removeprefix("wss://")
    return f"{base}/status/{incident_id}?key={key}"


def parse_key(text: str) -> tuple[str, str] | None:
    """``(link_id, secret)`` from a presented key, or None if it is not shaped like one."""
    link_id, dot, secret = text.strip().partition(".")
    if not dot or not LINK_ID.match(link_id) or not _SECRET.match(secret):
        return None
    return link_id, secret


def verify_page_link(links: dict[str, PageLink], key: str) -> PageLink | None:
    """The live link ``key`` opens, compared in constant time, else None."""
    parsed = parse_key(key)
    link_id, secret = parsed if parsed is not None else ("", "")
    link = links.get(link_id)
    expected = link.digest if link is not None else _DUMMY_DIGEST
    matches = hmac.compare_digest(digest_of(secret).encode(), expected.encode())
    if parsed is None or link is None or not matches or link.revoked:
        return None
    return link
