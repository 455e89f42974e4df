"""Writes a console's outbox to disk off the event loop, one write at a time, in order.

A write of the outbox (a temporary file, fsync, rename, fsync of the directory) takes a few
milliseconds on a quiet local disk and far longer on a busy or networked one. Done on the event
loop, it held back the frame that shows a just-posted line as pending (issue 24). Here one
thread writes every snapshot of the outbox in the order they were made; a snapshot still queued
when a newer one comes is skipped (the newer one holds everything it did that still matters).

Each :meth:`OutboxWriter.save` returns a future that is done once that snapshot, or a newer
one, is durable on disk (or could not be written: the caller is told through ``on_error``, and
the commands stay in memory). The client sends a new command to the hub only then, so a line
the hub may have stored is always on disk too, and a console killed at any moment after the
write sends it again on its next start (the hub stores a command id once).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from warroom.client.outbox import OutboxSaveError, OutboxStore
from warroom.core.events import EventBase


class OutboxWriter:
    """One background thread that makes snapshots of the outbox durable, in order."""

    def __init__(self, store: OutboxStore, on_error: Callable[[str], None]) -> None:
        self.store = store
        #: Called on the event loop with a sentence for the user when a write failed.
        self.on_error = on_error
        self._lock = threading.Condition()
        #: The newest snapshot not yet taken by the thread, with its number.
        self._queued: tuple[int, list[EventBase]] | None = None
        self._made = 0  # snapshots handed in so far
        self._written = 0  # the newest snapshot the thread has finished with
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def save(self, commands: list[EventBase]) -> asyncio.Future[None]:
        """Queue ``commands`` as the outbox; the future is done once it is on disk."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        done: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._closed:
                done.set_result(None)
                return done
            self._made += 1
            self._queued = (self._made, list(commands))
            self._waiters.append((self._made, done))
            self._lock.notify()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="warroom-outbox-writer", daemon=True
                )
                self._thread.start()
        return done

    def flush(self, timeout: float = 10.0) -> None:
        """Block until every snapshot handed in so far is on disk (or failed)."""
        with self._lock:
            self._lock.wait_for(lambda: self._written >= self._made, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread (later saves are not written)."""
        with self._lock:
            self._closed = True
            self._lock.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._settle(self._made)

    # --- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._queued is not None or self._closed)
                if self._queued is None:
                    return  # closed, nothing left to write
                number, commands = self._queued
                self._queued = None
            problem: str | None = None
            try:
                self.store.save(commands)
            except OutboxSaveError as exc:
                problem = str(exc)
            except Exception as exc:  # never let the writer die silently
                problem = f"the outbox could not be written: {exc}"
            with self._lock:
                self._written = number
                self._lock.notify_all()
            self._call_on_loop(number, problem)

    def _call_on_loop(self, number: int, problem: str | None) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(self._settle, number, problem)

    def _settle(self, number: int, problem: str | None = None) -> None:
        """On the loop: the futures of snapshots up to ``number`` are done, in order."""
        if problem is not None:
            self.on_error(problem)
        ready = [w for w in self._waiters if w[0] <= number]
        self._waiters = [w for w in self._waiters if w[0] > number]
        for _, done in ready:
            if not done.done():
                done.set_result(None)
