"""Python's garbage collection kept out of the frames a person waits for (issue 24).

A console following a 10,000-event incident holds about 200,000 Python objects (the log, the
folded state, the timeline's entries). Python's automatic full collection walks all of them:
110-150 ms of CPU, at a moment set by how many objects were allocated, so it landed on whatever
frame was being drawn (a scroll key, Escape) and made most of the slowest key frames of the
benchmark. Almost all of those objects live as long as the console follows the incident.

So the console moves what it holds out of the collector's sight (``gc.freeze``: the objects go to
the permanent generation, and the automatic collections no longer walk them):

* just after it took in a snapshot or a page of older entries (:meth:`QuietCollector.settle`),
  which costs nothing (the collector's lists are spliced, no object is visited);
* every :data:`EVERY` seconds while nobody has typed for :data:`QUIET` seconds, after collecting
  what is not frozen (a few ms: what was allocated since);
* every :data:`DEEP_EVERY` seconds, also while nobody types, it first thaws everything and
  collects it all (the 110-150 ms pass, when no key waits for it), so the cycles that died
  frozen (a closed form, a replaced widget) are freed: memory stays bounded over a long shift.

Objects freed by their reference count (most of them) are freed as always, frozen or not; only
reference cycles wait for the deep pass. When the console quits, everything is thawed.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Protocol

#: Seconds between two passes.
EVERY = 10.0
#: Seconds without a key before a pass may run.
QUIET = 1.0
#: Seconds between two passes that collect everything (frozen objects included).
DEEP_EVERY = 600.0
#: Seconds after a snapshot or a page of older entries before it is frozen (once drawn).
SETTLE_AFTER = 0.5


class Collector(Protocol):
    """What this module uses of :mod:`gc` (tests hand in a recorder)."""

    def collect(self) -> int: ...

    def freeze(self) -> None: ...

    def unfreeze(self) -> None: ...


class QuietCollector:
    """Runs the console's garbage collections while nobody is typing."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        collector: Collector = gc,
    ) -> None:
        self._clock = clock
        self._gc = collector
        self._last_key = -QUIET
        self._last_deep = clock()

    def typed(self) -> None:
        """A key or a paste came in: no pass for the next :data:`QUIET` seconds."""
        self._last_key = self._clock()

    def settle(self) -> None:
        """What the console holds now will stay: out of the automatic collections' walk."""
        self._gc.freeze()

    def release(self) -> None:
        """The console is going away: everything is the collector's again."""
        self._gc.unfreeze()

    def tick(self) -> str | None:
        """Called every :data:`EVERY` seconds: a pass if nobody typed lately. Returns which pass
        ran ("deep", "young") or None."""
        now = self._clock()
        if now - self._last_key < QUIET:
            return None
        deep = now - self._last_deep >= DEEP_EVERY
        if deep:
            self._gc.unfreeze()
            self._last_deep = now
        self._gc.collect()
        self._gc.freeze()
        return "deep" if deep else "young"
