"""Redaction on the hub: the old text gone from the database file, the WAL and memory (#23).

The core decides who may redact and what the entry reads afterwards
(:mod:`warroom.core.redaction`); the writer stores the redaction and the rewritten entries in
one transaction (``Store.append(..., rewrites=...)``) with ``secure_delete`` on, so the bytes
overwritten are zeroed rather than left in free space. What is left is the write-ahead log,
which still holds the pages as they were before: :func:`forget_old_pages` copies the WAL into the
file and truncates it. The rooms in memory then swap the frames of the rewritten events
(:func:`rewrite_frames`), so nobody is served the old text again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from warroom.core.events import EventBase

if TYPE_CHECKING:
    from warroom.hub.rooms import Room
    from warroom.hub.storage import Store

log = logging.getLogger("warroom.hub")

#: How often to try emptying the WAL while a reader holds an older snapshot of it (each try
#: waits up to the connection's busy timeout; the writer waits meanwhile, so not for long).
TRUNCATE_TRIES = 4


def forget_old_pages(store: Store) -> bool:
    """Empty the WAL into the database file (``wal_checkpoint(TRUNCATE)``), so the pages as they
    were before a redaction are nowhere on disk. Waits for readers (up to the busy timeout each
    try); True once the WAL is empty. An in-memory database has no WAL."""
    if str(store.path) == ":memory:":
        return True
    for attempt in range(TRUNCATE_TRIES):
        with store.lock:
            busy, _, _ = store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return True
        time.sleep(0.05 * (attempt + 1))
    log.error(
        "a redaction is stored, but a reader kept the write-ahead log of %s busy: the old text "
        "stays in %s-wal until the next checkpoint",
        store.path,
        store.path,
    )
    return False


def rewrite_frames(room: Room, rewrites: Iterable[EventBase]) -> None:
    """Put the rewritten events in place of their frames in ``room``'s memory (those older than
    its tail are read from storage, already rewritten)."""
    from warroom.hub.rooms import event_frame
    from warroom.hub.snapshots import forget_snapshot

    rewritten = False
    for event in rewrites:
        rewritten = True
        index = event.seq - room.base - 1
        if 0 <= index < len(room.frames):
            room.frames[index] = event_frame(event)
    if rewritten:
        forget_snapshot(room)  # a snapshot frame built before may hold the old text
