"""When the hub's timers will next act on an incident: the deadlines a console counts down to.

Every deadline here is pure arithmetic over the folded state (no clock), computed by the same
functions the hub's timers use, so a client that reads them off the wire shows the countdown the
hub will enforce. They travel with the state as its ``deadlines`` field (see
:attr:`warroom.core.state.IncidentState.deadlines`), which is computed, never stored: a client
sending a state back need not include it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.roles import Role


class Deadlines(BaseModel):
    """The moments at which the hub records something by itself unless the room acts first."""

    model_config = ConfigDict(frozen=True)

    #: When the next stakeholder update is due (``update_overdue`` is recorded then); ``None``
    #: when no update is scheduled (SEV4, resolved, closed).
    next_update_due: datetime | None = None
    #: When the hub will propose raising the severity (``escalation_due``); ``None`` once
    #: mitigated, or while a proposal waits for the IC.
    escalation_due: datetime | None = None
    #: When the production lock's lease ends (``lock_expired``) unless renewed or released.
    lock_expires_at: datetime | None = None
    #: When each open handoff offer lapses (``handoff_expired``), by the role offered.
    offers_expire: dict[Role, datetime] = Field(default_factory=dict)
    #: When the hub will suggest that the holder of each role hand it off (``rotation_due``);
    #: only roles whose suggestion has not been made yet.
    rotation_due: dict[Role, datetime] = Field(default_factory=dict)
