"""Scenario time: real time sped up by ``--speed``, or moved by hand for headless runs."""

from __future__ import annotations

import time
from datetime import datetime, timedelta


class ScaledClock:
    """A wall clock that runs ``speed`` times faster than real time from ``start``.

    The embedded hub, the simulated responders and the user's console all read this one clock,
    so deadlines (update cadence, lease expiry, escalation) arrive on scenario time.
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def elapsed(self) -> float:
        """Scenario seconds since the start."""
        return (time.monotonic() - self._t0) * self.speed
