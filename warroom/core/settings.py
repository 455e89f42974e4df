"""Per-hub settings that the rules depend on, recorded into each incident at declaration.

The hub stamps its settings onto the ``incident_declared`` event, so every console, the export and
the postmortem compute deadlines and metrics from the same numbers the hub enforced, even if the
hub's configuration changes later.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.severity import SeverityPolicy


class HubSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    policy: SeverityPolicy = Field(default_factory=SeverityPolicy)
    #: How long a production-lock lease lasts before it must be renewed.
    lock_ttl: timedelta = timedelta(minutes=10)
    #: How long a handoff offer stays open before it lapses.
    handoff_ttl: timedelta = timedelta(minutes=5)
    #: After this long in the IC role, the console suggests a handoff.
    ic_rotation: timedelta = timedelta(hours=3)
