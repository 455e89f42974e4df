"""The alert groups behind an incident, as its state holds them (the events that change them are
in :mod:`warroom.core.alerts_incident`). Kept apart so the state can import it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AttachedGroup(BaseModel):
    """An alert group behind the incident, as its latest notification left it."""

    model_config = ConfigDict(frozen=True)

    group_id: str
    source: str
    summary: str
    starts_at: datetime | None = None
    firing: int = 0
    resolved: int = 0
    attached_by: str = ""
    attached_at: datetime | None = None
    #: When the hub last heard from the sender about this group (its last notification's time).
    updated_at: datetime | None = None

    @property
    def total(self) -> int:
        return self.firing + self.resolved


class AlertEvidence(BaseModel):
    """One notification of an attached group, offered on the board as evidence."""

    model_config = ConfigDict(frozen=True)

    #: The seq of the ``alert_notified`` event: the offer's number.
    seq: int
    group_id: str
    text: str
    link: str = ""
    at: datetime | None = None
    #: The group's counts after the notification, and how many alert state changes it brought.
    firing: int = 0
    resolved: int = 0
    changes: int = 0
    #: The board card it became, once someone turned it into a fact.
    fact: int | None = None


class AlertsState(BaseModel):
    """The alert groups behind an incident and the evidence their notifications offer."""

    model_config = ConfigDict(frozen=True)

    groups: dict[str, AttachedGroup] = Field(default_factory=dict)
    evidence: dict[int, AlertEvidence] = Field(default_factory=dict)

    @property
    def firing(self) -> int:
        return sum(g.firing for g in self.groups.values())

    @property
    def total(self) -> int:
        return sum(g.total for g in self.groups.values())

    def offers(self) -> list[AlertEvidence]:
        """Evidence not yet turned into a fact, newest first."""
        return sorted((e for e in self.evidence.values() if e.fact is None), key=lambda e: -e.seq)


def alerts_line(alerts: AlertsState) -> str:
    """What the summary says about the alerts behind the incident ('' when there are none)."""
    if not alerts.groups:
        return ""
    groups = len(alerts.groups)
    what = f"{groups} alert group{'s' if groups != 1 else ''}"
    if alerts.firing:
        return f"still firing: {alerts.firing} of {alerts.total} alerts ({what})"
    return f"all resolved: 0 of {alerts.total} alerts firing ({what})"
