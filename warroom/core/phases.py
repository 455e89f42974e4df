"""The phases an incident moves through, in order."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    DETECTED = "detected"
    TRIAGE = "triage"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def index(self) -> int:
        return list(Phase).index(self)


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)
