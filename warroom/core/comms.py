"""Stakeholder communication: published updates, missed deadlines and webhook deliveries.

A comms lead (or the IC) publishes an update; the event carries the exact text that was
previewed, so what the room sees on the timeline is what stakeholders received. The hub records
the rest itself: an ``update_overdue`` when the cadence deadline passes (once per episode), and
per webhook target whether the update was delivered or finally failed. A failed delivery can be
retried by hand with ``update_delivery_retry``; the hub then posts it again.

The cadence arithmetic is in :mod:`warroom.core.cadence`, the template and text in
:mod:`warroom.core.update_text`, the records in :mod:`warroom.core.comms_state`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from warroom.core.cadence import next_update_due
from warroom.core.comms_state import (
    Audience,
    Delivery,
    DeliveryStatus,
    OverdueEpisode,
    StakeholderUpdate,
    UpdateFields,
)
from warroom.core.events import Actor, EventBase, Refusal, event, refuse
from warroom.core.roles import ROLE_TITLES, Role
from warroom.core.state import IncidentState
from warroom.core.timers import timer
from warroom.core.update_text import clock_time, quoted_guesses, update_texts

#: Longest update text; a Slack message holds far more, a reader far less.
MAX_UPDATE_TEXT = 8000
#: Names used in deterministic ids of hub-recorded comms events.
_ID_NAMESPACE = uuid.UUID("5b0f7c1e-8d4a-4c55-9a57-6f1d1c0c0a11")


def may_publish(state: IncidentState, name: str) -> bool:
    """Only the comms lead and the IC speak for the incident to stakeholders."""
    return state.is_ic(name) or state.holder(Role.COMMS) == name


def _forbidden() -> Refusal:
    return refuse(
        "forbidden",
        f"Only the {ROLE_TITLES[Role.COMMS].lower()} or the incident commander "
        "publishes stakeholder updates.",
    )


def _with_comms(state: IncidentState, **changes: object) -> IncidentState:
    return state.model_copy(update={"comms": state.comms.model_copy(update=changes)})


@event
class UpdatePublished(EventBase):
    """A stakeholder update, with the exact text sent and the template fields it came from."""

    type: Literal["update_published"] = "update_published"
    audience: Audience
    text: str = Field(min_length=1, max_length=MAX_UPDATE_TEXT)
    fields: UpdateFields = Field(default_factory=UpdateFields)
    #: The next-update time the text promises (``None``: "when there is news").
    next_update_at: datetime | None = None
    #: Open guesses (board numbers) the author was warned this update resembles and chose to
    #: publish anyway; on the timeline, so the room and the review see the choice.
    despite_guesses: list[int] = Field(default_factory=list, max_length=50)

    timeline_kind = "comms"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not may_publish(state, actor.name):
            return _forbidden()
        if not self.text.strip():
            return refuse("invalid", "An update needs some text.")
        if self.next_update_at is not None:
            if self.next_update_at.tzinfo is None:
                return refuse("invalid", "next_update_at needs a timezone (use UTC, e.g. ...Z).")
            if self.next_update_at <= now:
                return refuse(
                    "invalid",
                    "The promised next-update time has already passed; preview the update again.",
                )
        unknown = [no for no in self.despite_guesses if no not in state.board]
        if unknown:
            return refuse("invalid", f"despite_guesses names no board card #{unknown[0]}.")
        if self.audience == Audience.EXTERNAL:
            quoted = quoted_guesses(state, *update_texts(self.text, self.fields))
            if quoted:
                return refuse(
                    "unconfirmed_in_external",
                    f"An external update cannot state an open guess as fact: {quoted[0]!r}. "
                    "Confirm it on the board first, or leave it out.",
                )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        update = StakeholderUpdate(
            update_id=self.id,
            number=len(state.comms.updates) + 1,
            seq=self.seq,
            at=self.at,
            author=self.actor,
            audience=self.audience,
            text=self.text,
            fields=self.fields,
            severity=state.severity,
            phase=state.phase,
            next_update_at=self.next_update_at,
        )
        episodes = list(state.comms.overdue_episodes)
        if episodes and episodes[-1].open:
            episodes[-1] = episodes[-1].model_copy(update={"ended_at": self.at})
        return _with_comms(state, updates=[*state.comms.updates, update], overdue_episodes=episodes)

    def describe(self) -> str:
        title = self.text.strip().splitlines()[0]
        promise = f"; next by {clock_time(self.next_update_at)}" if self.next_update_at else ""
        despite = ""
        if self.despite_guesses:
            numbers = ", ".join(f"#{no}" for no in self.despite_guesses)
            plural = "es" if len(self.despite_guesses) > 1 else ""
            despite = f" (published despite resembling open guess{plural} {numbers})"
        return f"{self.audience.value.capitalize()} update published: {title}{promise}{despite}"


@event
class UpdateOverdue(EventBase):
    """Recorded by the hub when an update deadline passes with no update published."""

    type: Literal["update_overdue"] = "update_overdue"
    due_at: datetime

    hub_only = True
    timeline_kind = "comms"

    def fold(self, state: IncidentState) -> IncidentState:
        episode = OverdueEpisode(due_at=self.due_at, flagged_at=self.at)
        return _with_comms(state, overdue_episodes=[*state.comms.overdue_episodes, episode])

    def describe(self) -> str:
        return f"Stakeholder update overdue (was due {clock_time(self.due_at)})"


@event
class UpdateDelivered(EventBase):
    """Recorded by the hub when a webhook target accepted an update."""

    type: Literal["update_delivered"] = "update_delivered"
    update_id: uuid.UUID
    target: str
    attempts: int = Field(ge=1)
    status_code: int = 200

    hub_only = True
    timeline_kind = "comms"

    def fold(self, state: IncidentState) -> IncidentState:
        delivery = Delivery(
            update_id=self.update_id,
            target=self.target,
            status=DeliveryStatus.DELIVERED,
            attempts=self.attempts,
            detail=f"HTTP {self.status_code}",
            at=self.at,
        )
        return state.model_copy(update={"comms": state.comms.with_delivery(delivery)})

    def describe(self) -> str:
        tries = "1 attempt" if self.attempts == 1 else f"{self.attempts} attempts"
        return f"Update delivered to {self.target} ({tries})"


@event
class UpdateDeliveryFailed(EventBase):
    """Recorded by the hub when a webhook target still failed after its last retry."""

    type: Literal["update_delivery_failed"] = "update_delivery_failed"
    update_id: uuid.UUID
    target: str
    attempts: int = Field(ge=1)
    reason: str = Field(default="", max_length=500)

    hub_only = True
    timeline_kind = "comms"

    def fold(self, state: IncidentState) -> IncidentState:
        delivery = Delivery(
            update_id=self.update_id,
            target=self.target,
            status=DeliveryStatus.FAILED,
            attempts=self.attempts,
            detail=self.reason,
            at=self.at,
        )
        return state.model_copy(update={"comms": state.comms.with_delivery(delivery)})

    def describe(self) -> str:
        return (
            f"Update NOT delivered to {self.target} after {self.attempts} "
            f"attempt{'s' if self.attempts != 1 else ''}: {self.reason}"
        )


@event
class UpdateDeliveryRetried(EventBase):
    """The comms lead or IC asks the hub to post a failed delivery again."""

    type: Literal["update_delivery_retry"] = "update_delivery_retry"
    update_id: uuid.UUID
    target: str

    timeline_kind = "comms"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not may_publish(state, actor.name):
            return _forbidden()
        delivery = state.comms.delivery(self.update_id, self.target)
        if delivery is None:
            return refuse("unknown_delivery", f"No delivery of that update to {self.target!r}.")
        if delivery.status != DeliveryStatus.FAILED:
            return refuse(
                "not_failed",
                f"The delivery to {self.target} is {delivery.status.value}; only a failed one "
                "can be retried.",
            )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        before = state.comms.delivery(self.update_id, self.target)
        if before is None:
            return state
        delivery = before.model_copy(
            update={"status": DeliveryStatus.RETRYING, "detail": "retry requested", "at": self.at}
        )
        return state.model_copy(update={"comms": state.comms.with_delivery(delivery)})

    def describe(self) -> str:
        return f"Delivery to {self.target} retried by hand"


@timer
def update_overdue(state: IncidentState, now: datetime) -> list[EventBase]:
    """An ``update_overdue`` once per episode: when the deadline passes and none is open."""
    due = next_update_due(state)
    if due is None or now < due or state.comms.open_episode is not None:
        return []
    episode = len(state.comms.overdue_episodes)
    key = f"{state.incident_id}:update-overdue:{episode}:{due.isoformat()}"
    return [UpdateOverdue(id=uuid.uuid5(_ID_NAMESPACE, key), due_at=due)]
