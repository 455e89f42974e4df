"""Reconnect delays: exponential backoff with full jitter, capped.

Full jitter (a random delay between zero and the exponential bound) keeps a room of consoles from
reconnecting in lockstep when the hub comes back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 0.25
    cap: float = 8.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        bound = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        return self.rng.uniform(0, bound)

    def reset(self) -> None:
        self.attempt = 0
