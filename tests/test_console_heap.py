"""The console's garbage collection runs while nobody types (issue 24).

A full collection over a 10,000-event incident took 110-150 ms of CPU and landed on whatever frame
was being drawn; the console freezes what it holds and collects only when no key came lately.
"""

from __future__ import annotations

import gc
from pathlib import Path

from tests.console_helpers import console_session
from warroom.console import heap
from warroom.console.heap import QuietCollector


class Recorder:
    """Stands in for :mod:`gc`: records what was asked of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def collect(self) -> int:
        self.calls.append("collect")
        return 0

    def freeze(self) -> None:
        self.calls.append("freeze")

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_collection_while_someone_types_then_one_when_quiet() -> None:
    clock, rec = Clock(), Recorder()
    quiet = QuietCollector(clock=clock, collector=rec)
    quiet.typed()
    clock.now += heap.QUIET / 2
    assert quiet.tick() is None
    assert rec.calls == []
    clock.now += heap.QUIET
    assert quiet.tick() == "young"
    assert rec.calls == ["collect", "freeze"]


def test_a_deep_pass_thaws_everything_first_now_and_then() -> None:
    clock, rec = Clock(), Recorder()
    quiet = QuietCollector(clock=clock, collector=rec)
    clock.now += heap.DEEP_EVERY - 1
    assert quiet.tick() == "young"
    clock.now += 1
    rec.calls.clear()
    assert quiet.tick() == "deep"
    assert rec.calls == ["unfreeze", "collect", "freeze"]
    clock.now += heap.EVERY
    assert quiet.tick() == "young"
    # Someone typing when the deep pass is due puts it off, too.
    clock.now += heap.DEEP_EVERY
    quiet.typed()
    rec.calls.clear()
    assert quiet.tick() is None
    assert rec.calls == []


def test_settle_freezes_and_release_puts_everything_back() -> None:
    rec = Recorder()
    quiet = QuietCollector(clock=Clock(), collector=rec)
    quiet.settle()
    assert rec.calls == ["freeze"]
    quiet.release()
    assert rec.calls[-1] == "unfreeze"


async def test_the_console_freezes_the_incident_it_took_in_and_thaws_it_on_quitting(
    tmp_path: Path,
) -> None:
    async with console_session(tmp_path, role="scribe") as s:
        # The snapshot it joined with is frozen once drawn.
        await s.wait_for(lambda: gc.get_freeze_count() > 0, timeout=5)
        await s.pilot.press("n", *"still here", "enter")
        await s.wait_for(lambda: s.app.client.state.note_count == 1)
    assert gc.get_freeze_count() == 0
