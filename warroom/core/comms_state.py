"""What the room knows about stakeholder communication: updates sent, deadlines missed, deliveries.

These records live in ``IncidentState.comms``. They are plain frozen models, so the comms folds
replace them with copies and an older state stays valid. Other features read them: the metrics
count ``comms.overdue_episodes``, the status bar reads the cadence computed from ``comms.updates``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warroom.core.phases import Phase
from warroom.core.severity import Severity


class Audience(StrEnum):
    """Who an update is written for. External updates never carry unconfirmed guesses."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class ResolutionRange(BaseModel):
    """Expected time to resolution as a range of minutes from the update; both ``None`` = unknown.

    A range, not a point: a precise time is a promise the team rarely knows enough to keep.
    """

    model_config = ConfigDict(frozen=True)

    low_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 30)
    high_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 30)

    @model_validator(mode="after")
    def _ordered(self) -> ResolutionRange:
        if (self.low_minutes is None) != (self.high_minutes is None):
            raise ValueError("give both ends of the range, or neither for unknown")
        low, high = self.low_minutes, self.high_minutes
        if low is not None and high is not None and high < low:
            raise ValueError("the end of the range comes before its start")
        return self

    @property
    def unknown(self) -> bool:
        return self.low_minutes is None and self.high_minutes is None


class UpdateFields(BaseModel):
    """The template a comms lead fills in; the rendered text is built from these."""

    model_config = ConfigDict(frozen=True)

    affected: str = Field(default="", max_length=2000)
    not_affected: str = Field(default="", max_length=2000)
    expect: str = Field(default="", max_length=2000)
    doing: str = Field(default="", max_length=4000)
    resolution: ResolutionRange = Field(default_factory=ResolutionRange)


class StakeholderUpdate(BaseModel):
    """One published update, as the room and the webhooks saw it."""

    model_config = ConfigDict(frozen=True)

    update_id: UUID
    number: int
    seq: int
    at: datetime | None
    author: str
    audience: Audience
    text: str
    fields: UpdateFields
    #: The severity and phase when it was published: the cadence after it follows this severity.
    severity: Severity
    phase: Phase
    #: The time the update itself promised the next one, if any.
    next_update_at: datetime | None = None


class OverdueEpisode(BaseModel):
    """A stretch of time when a stakeholder update was due and none had been published.

    Recorded once by the hub when the deadline passes; closed by the next published update.
    """

    model_config = ConfigDict(frozen=True)

    due_at: datetime
    flagged_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    RETRYING = "retrying"


class Delivery(BaseModel):
    """The latest outcome of posting one update to one configured webhook target."""

    model_config = ConfigDict(frozen=True)

    update_id: UUID
    target: str
    status: DeliveryStatus
    attempts: int = 0
    detail: str = ""
    at: datetime | None = None


class CommsState(BaseModel):
    """Stakeholder updates, overdue episodes and webhook deliveries of one incident."""

    model_config = ConfigDict(frozen=True)

    updates: list[StakeholderUpdate] = Field(default_factory=list)
    overdue_episodes: list[OverdueEpisode] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)

    @property
    def last_update(self) -> StakeholderUpdate | None:
        return self.updates[-1] if self.updates else None

    @property
    def open_episode(self) -> OverdueEpisode | None:
        """The overdue episode still running, if the last deadline passed without an update."""
        if self.overdue_episodes and self.overdue_episodes[-1].open:
            return self.overdue_episodes[-1]
        return None

    @property
    def overdue_count(self) -> int:
        """How many times an update deadline was missed (the metrics read this)."""
        return len(self.overdue_episodes)

    def update(self, update_id: UUID) -> StakeholderUpdate | None:
        return next((u for u in self.updates if u.update_id == update_id), None)

    def delivery(self, update_id: UUID, target: str) -> Delivery | None:
        return next(
            (d for d in self.deliveries if d.update_id == update_id and d.target == target), None
        )

    def deliveries_of(self, update_id: UUID) -> list[Delivery]:
        return [d for d in self.deliveries if d.update_id == update_id]

    def with_delivery(self, delivery: Delivery) -> CommsState:
        """A copy where ``delivery`` replaces the record for its update and target."""

        def same(d: Delivery) -> bool:
            return d.update_id == delivery.update_id and d.target == delivery.target

        if any(same(d) for d in self.deliveries):
            deliveries = [delivery if same(d) else d for d in self.deliveries]
        else:
            deliveries = [*self.deliveries, delivery]
        return self.model_copy(update={"deliveries": deliveries})
