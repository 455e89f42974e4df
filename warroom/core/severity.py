"""Severity levels and the rubric shown wherever a severity is chosen."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel


class Severity(StrEnum):
    """How big the response is. SEV1 is the worst."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def level(self) -> int:
        return int(self.value[-1])

    def raised(self) -> Severity:
        """One level more severe (SEV1 stays SEV1)."""
        return Severity(f"SEV{max(1, self.level - 1)}")


RUBRIC: dict[Severity, str] = {
    Severity.SEV1: "Complete failure, data loss or integrity risk; all users affected.",
    Severity.SEV2: "A core journey badly degraded for many users.",
    Severity.SEV3: "Minor degradation; a workaround exists.",
    Severity.SEV4: "Cosmetic, or a tiny share of users.",
}


class SeverityPolicy(BaseModel):
    """Per-severity expectations; a hub may override them from its config file."""

    time_to_mitigate: dict[Severity, timedelta | None] = {
        Severity.SEV1: timedelta(hours=1),
        Severity.SEV2: timedelta(hours=4),
        Severity.SEV3: timedelta(hours=24),
        Severity.SEV4: None,
    }
    update_cadence: dict[Severity, timedelta | None] = {
        Severity.SEV1: timedelta(minutes=15),
        Severity.SEV2: timedelta(minutes=30),
        Severity.SEV3: timedelta(minutes=60),
        Severity.SEV4: None,
    }
    first_update_after: timedelta = timedelta(minutes=10)
    #: What each level means on this hub, shown wherever a severity is chosen.
    definitions: dict[Severity, str] = dict(RUBRIC)

    def meaning(self, severity: Severity) -> str:
        """The definition of ``severity`` on this hub (the standard rubric if not configured)."""
        return self.definitions.get(severity) or RUBRIC[severity]
