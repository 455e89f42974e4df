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

    # The phase's position in the order. It shadows ``str.index`` (a phase is a str); renaming
    # it touches lifecycle code other branches are changing, so that is left for after merging.
    @property
    def index(self) -> int:  # type: ignore[override]
        return list(Phase).index(self)


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)
