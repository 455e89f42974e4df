"""Abuse limits that keep one console (or one script gone wrong) from hurting the others.

Each limit acts on the offending connection alone and costs the hub O(1) per message, so a flood
from one console never delays the writer or anyone else's events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Monotonic = Callable[[], float]


@dataclass
class TokenBucket:
    """A message-rate limit: ``rate`` messages a second on average, bursts up to ``burst``.

    A console that pastes a long runbook or flushes an outbox after an outage sends a burst;
    a runaway script sends forever. The bucket lets the first through and slows the second.
    """

    rate: float
    burst: float
    clock: Monotonic = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self) -> bool:
        """Spend one token if there is one; False means the message must be refused."""
        if self.rate <= 0:
            return True  # no limit configured
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until one token is available again."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        return max(0.0, (1.0 - self.tokens) / self.rate)


def slow_down_message(retry_after: float) -> str:
    """The words a flooding console shows: nothing is lost, its messages just wait their turn."""
    return (
        f"Too many messages at once: slow down. Your messages are being read at the hub's rate "
        f"(next in {retry_after:.1f} s); none is lost and their order is kept."
    )
