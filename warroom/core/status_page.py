"""Page links: who may read an incident's status page in a browser, and for which audience.

A stakeholder page shows only what the room published for its audience (see
:mod:`warroom.core.status_page_view`). Who may open it is decided by a *page link*: a URL with a
secret that the IC or the comms lead creates from the console and passes on (an e-mail, a chat
topic, the support desk's wiki). A link is for one incident and one audience: ``internal`` (the
company: internal and external updates) or ``external`` (customers: external updates only).

Like a join code, the secret exists only in the console that makes the link, at that moment:
the log (and so the hub's database, the broadcast and the export) holds its public ``link_id``
and the SHA-256 digest of the secret. The secret is 256 random bits, so the digest cannot be
reversed by guessing. Revoking a link is an event: from then on the hub refuses it, and closes
the live connections of every page opened with it.

The key reads ``LINK_ID.SECRET`` and travels in the page's URL (``?key=``): a link has to be
clickable by people without a terminal. The hub sends the page with ``Referrer-Policy:
no-referrer`` and never logs a query string, so the key does not leak from the page itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from warroom.core.comms import may_publish
from warroom.core.comms_state import Audience
from warroom.core.events import Actor, EventBase, Refusal, event, refuse
from warroom.core.roles import ROLE_TITLES, Role
from warroom.core.status_page_state import LINK_ID, MAX_LABEL, PageLink

if TYPE_CHECKING:
    from warroom.core.state import IncidentState


def _may_manage(state: IncidentState, actor: Actor, what: str) -> Refusal | None:
    if state.is_guest(actor.name):
        return refuse("forbidden", f"A guest never {what} page links.")
    if not may_publish(state, actor.name):
        return refuse(
            "forbidden",
            f"Only the {ROLE_TITLES[Role.COMMS].lower()} or the incident commander {what} "
            "page links.",
        )
    return None


def _with_link(state: IncidentState, link: PageLink) -> IncidentState:
    return state.model_copy(update={"page_links": {**state.page_links, link.link_id: link}})


@event
class PageLinkCreated(EventBase):
    """The IC or comms lead shares the status page with an audience; only a digest is kept."""

    type: Literal["page_link_created"] = "page_link_created"
    link_id: str = Field(pattern=LINK_ID.pattern)
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    audience: Audience
    label: str = Field(default="", max_length=MAX_LABEL)

    timeline_kind = "access"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = _may_manage(state, actor, "creates")
        if refusal is not None:
            return refusal
        if self.link_id in state.page_links:
            return refuse("invalid", f"Page link {self.link_id} exists already; make a new one.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        link = PageLink(
            link_id=self.link_id,
            digest=self.digest,
            audience=self.audience,
            label=self.label,
            created_by=self.actor,
            created_at=self.at,
        )
        return _with_link(state, link)

    def describe(self) -> str:
        label = f" ({self.label})" if self.label else ""
        return f"{self.audience.value.capitalize()} status page link {self.link_id}{label} created"


@event
class PageLinkRevoked(EventBase):
    """The link stops working at once, for new visits and for pages open with it."""

    type: Literal["page_link_revoked"] = "page_link_revoked"
    link_id: str = Field(pattern=LINK_ID.pattern)

    timeline_kind = "access"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        refusal = _may_manage(state, actor, "revokes")
        if refusal is not None:
            return refusal
        link = state.page_links.get(self.link_id)
        if link is None:
            return refuse("invalid", f"There is no page link {self.link_id}.")
        if link.revoked:
            return refuse("invalid", f"Page link {self.link_id} was already revoked.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        link = state.page_links.get(self.link_id)
        if link is None:
            return state
        return _with_link(state, link.model_copy(update={"revoked_at": self.at}))

    def describe(self) -> str:
        return f"Status page link {self.link_id} revoked"
