"""The folded state of one incident.

The state is a pydantic model that is never mutated: every fold returns a copy with the changed
fields replaced (``model_copy(update=...)``), so an old state stays valid and the fold stays pure.
Collections in the state are small (participants, board items, decisions); the timeline itself is
the event log, not part of the state, so folding stays cheap however long the incident runs.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field

from warroom.core.access import AccessState
from warroom.core.alerts_state import AlertsState
from warroom.core.board import BoardItem
from warroom.core.checklist_state import Checklist
from warroom.core.comms_state import CommsState
from warroom.core.corrections import Correction, Retime
from warroom.core.deadlines import Deadlines
from warroom.core.decisions import Decision, FollowUp
from warroom.core.gate_state import ChangeFreeze
from warroom.core.handoff_state import HandoffOffer, OfferEnding, RotationHint
from warroom.core.lifecycle_state import (
    Escalation,
    PhaseRecord,
    SeverityRecord,
    TriageMark,
    TriageQuestion,
    TriageScope,
)
from warroom.core.names import is_guest_name
from warroom.core.phases import Phase
from warroom.core.production import ProductionAction, ProductionLock
from warroom.core.redaction import Redaction
from warroom.core.roles import HELD_ROLES, Role
from warroom.core.scorecard import Scorecard
from warroom.core.settings import HubSettings
from warroom.core.severity import Severity
from warroom.core.status_page_state import PageLink


class Participant(BaseModel):
    """Someone who joined the incident; they stay listed after leaving."""

    model_config = ConfigDict(frozen=True)

    name: str
    seat: Role
    joined_at: datetime | None = None
    online: bool = True
    last_seen: datetime | None = None


class RoleHolding(BaseModel):
    """Who holds a held role, and since when."""

    model_config = ConfigDict(frozen=True)

    holder: str
    since: datetime | None = None


class IncidentState(BaseModel):
    """Everything the room knows about one incident, as of ``seq``."""

    model_config = ConfigDict(frozen=True)

    incident_id: str = ""
    seq: int = 0
    declared: bool = False
    title: str = ""
    severity: Severity = Severity.SEV3
    phase: Phase = Phase.DETECTED
    drill: bool = False
    declared_by: str = ""
    declared_at: datetime | None = None
    detected_at: datetime | None = None
    trigger: str = ""
    symptoms: str = ""
    scope: str = ""
    last_event_at: datetime | None = None
    settings: HubSettings = Field(default_factory=HubSettings)

    participants: dict[str, Participant] = Field(default_factory=dict)
    roles: dict[Role, RoleHolding] = Field(default_factory=dict)
    note_count: int = 0

    # Each feature adds its fields under its own marker (keep the markers).
    # --- lifecycle: severity history, phases, escalation, times, triage ---
    #: When the impact began, as the room learns it (editable later); ``None`` until someone says.
    impact_started_at: datetime | None = None
    #: Entering "monitoring" (or later); cleared if the incident moves back before it.
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str = ""
    severity_history: list[SeverityRecord] = Field(default_factory=list)
    phase_history: list[PhaseRecord] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    triage: TriageScope = Field(default_factory=TriageScope)
    triage_marks: dict[TriageQuestion, TriageMark] = Field(default_factory=dict)
    # --- board: facts, guesses, ruled out ---
    #: Board cards by number (the seq of the event that added each).
    board: dict[int, BoardItem] = Field(default_factory=dict)
    # --- decisions: decision log, follow-ups ---
    decisions: dict[int, Decision] = Field(default_factory=dict)
    follow_ups: dict[int, FollowUp] = Field(default_factory=dict)
    # --- lock: production lock, queue, actions ---
    lock: ProductionLock = Field(default_factory=ProductionLock)
    #: Production actions by id (the id of the event that started each), oldest first.
    actions: dict[str, ProductionAction] = Field(default_factory=dict)
    # --- handoff: offers, rotation ---
    #: Pending handoff offers, at most one per held role; the holder keeps the role meanwhile.
    offers: dict[Role, HandoffOffer] = Field(default_factory=dict)
    #: How each offer that is no longer open ended, by the offer's id.
    ended_offers: dict[UUID, OfferEnding] = Field(default_factory=dict)
    #: The hub's rotation suggestions by role; each applies only to the holding it names.
    rotation: dict[Role, RotationHint] = Field(default_factory=dict)
    # --- comms: stakeholder updates, cadence, deliveries ---
    # --- drill: the scorecard recorded when a drill ends ---
    drill_scorecard: Scorecard | None = None
    comms: CommsState = Field(default_factory=CommsState)
    # --- access: join codes and the guests who entered with them ---
    access: AccessState = Field(default_factory=AccessState)
    # --- corrections: amended text and when things happened ---
    #: Every later version of an amended entry, by the entry's seq, oldest first.
    corrections: dict[int, tuple[Correction, ...]] = Field(default_factory=dict)
    #: When entries actually happened, as retimed, by the entry's seq, oldest first.
    retimes: dict[int, tuple[Retime, ...]] = Field(default_factory=dict)
    # --- status page: links that open the incident's page in a browser (#21) ---
    page_links: dict[str, PageLink] = Field(default_factory=dict)
    # --- alerts (issue 20): the alert groups behind the incident, their evidence ---
    alerts: AlertsState = Field(default_factory=AlertsState)
    # --- checklists (#19): runbooks attached, their steps as worked ---
    checklists: dict[int, Checklist] = Field(default_factory=dict)
    # --- deploy gate (#19): the IC's change freeze ---
    freeze: ChangeFreeze | None = None
    # --- redaction and the reference time zone (#23) ---
    #: Who redacted which entry and why, by the entry's seq (the text itself is gone).
    redactions: dict[int, Redaction] = Field(default_factory=dict)
    #: The incident's reference time zone (an IANA name), chosen at declaration; "" = none.
    timezone: str = ""

    # --- on the wire only: computed from the fields above, ignored when read back ----------
    @computed_field  # type: ignore[prop-decorator]
    @property
    def deadlines(self) -> Deadlines:
        """When the hub's timers will next act (update due, escalation, lease and offer expiry,
        rotation), so a client can count down without reimplementing the rules."""
        from warroom.core.wire_state import deadlines_of  # the rules import this module

        return deadlines_of(self)

    # --- helpers every feature uses -------------------------------------------------------
    def holder(self, role: Role) -> str | None:
        """Who holds ``role`` now, if anyone."""
        holding = self.roles.get(role)
        return holding.holder if holding else None

    @property
    def ic(self) -> str | None:
        return self.holder(Role.IC)

    def roles_of(self, name: str) -> list[Role]:
        """The held roles of ``name``, most senior first."""
        return [r for r in HELD_ROLES if self.holder(r) == name]

    def is_ic(self, name: str) -> bool:
        return self.ic == name

    def role_of(self, name: str, seat: Role = Role.RESPONDER) -> Role:
        """The role stamped on events by ``name``: the most senior held role, else the seat.

        Someone who asked for a held seat that another person holds acts as a responder.
        """
        held = self.roles_of(name)
        if held:
            return held[0]
        participant = self.participants.get(name)
        if participant is not None:
            seat = participant.seat
        if seat in HELD_ROLES:
            return Role.RESPONDER
        return seat

    def is_guest(self, name: str) -> bool:
        """Entered with a join code: the name carries the guest marker (or, in records made
        before the marker existed, the hub admitted it as a guest)."""
        return is_guest_name(name) or name in self.access.guests

    def is_observer(self, name: str) -> bool:
        participant = self.participants.get(name)
        return (
            participant is not None
            and participant.seat == Role.OBSERVER
            and not self.roles_of(name)
        )

    @property
    def online(self) -> list[str]:
        return [p.name for p in self.participants.values() if p.online]
