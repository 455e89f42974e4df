"""The hub: validates each command, stores it durably, then acknowledges and broadcasts it.

:class:`Hub` is the façade the server and the tests use; its work is done by layers in their own
modules (see :mod:`warroom.hub.hubstate`): fan-out to consoles, the write path, joining, the
per-connection protocol and the HTTP views. The façade itself owns the life cycle (loading,
starting, stopping) and the timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import datetime

from warroom.hub.connection import Connections
from warroom.hub.fanout import abort_if_open, event_frame
from warroom.hub.hubstate import HubLimits, Pending, UnreadableIncident
from warroom.hub.loading import LiveIncidents, MemoryLimits
from warroom.hub.rooms import RecentIds
from warroom.hub.storage_api import EventStore
from warroom.hub.views import Views

from warroom.core import timers
from warroom.core.admission import Admission
from warroom.core.clock import Clock, utc_now
from warroom.core.events import Actor
from warroom.core.protocol import Error
from warroom.core.roles import HUB_ACTOR, Role
from warroom.core.settings import HubSettings
from warroom.core.state import IncidentState

__all__ = ["Hub", "HubLimits", "Pending", "UnreadableIncident", "abort_if_open", "event_frame"]

log = logging.getLogger("warroom.hub")


class Hub(Connections, Views):
    """The authority for every incident on this hub."""

    def __init__(
        self,
        store: EventStore,
        settings: HubSettings | None = None,
        clock: Clock = utc_now,
        limits: HubLimits | None = None,
        memory: MemoryLimits | None = None,
    ) -> None:
        super().__init__(store, settings, clock, limits)
        #: Which incidents are in memory: the open ones, closed ones while used (loading.py).
        self.live = LiveIncidents(self, memory or MemoryLimits())
        store.checkpoint_every = self.live.limits.checkpoint_every
        #: The idempotency index: recent ids in memory, older ones looked up in the database.
        self.ids = RecentIds(store.find_ids, self.live.limits.recent_ids)
        self.after_store.append(self._disconnect_revoked)

    # --- life cycle ---------------------------------------------------------------------------
    async def load(self) -> None:
        """Read every open incident from the store (reads only; nothing is written)."""
        if not self._loaded:
            await asyncio.to_thread(self._load)
            self._loaded = True

    async def start(self) -> None:
        """Load every incident from the store (if not done yet), then start writing."""
        await self.load()
        self._writer = asyncio.create_task(self._write_loop(), name="warroom-writer")
        self.live.start()
        # Nobody is connected to a hub that just started: record that for anyone still shown
        # online (the hub stopped or crashed while they were connected).
        await self.reconcile_presence()

    def _load(self) -> None:
        self.live.load_live()

    def _set_aside(self, incident_id: str, exc: Exception) -> None:
        """Keep an incident whose log cannot be read out of service, and say so (log, /healthz).

        Its rows stay untouched in the database for someone to repair; its id and its event ids
        stay taken (the writer looks ids it does not hold up in the database), so nothing new can
        collide with them.
        """
        reason = " ".join(str(exc).split())[:300]
        self.set_aside[incident_id] = reason
        log.error(
            "incident %s set aside: %s; every other incident is served. Repair or remove its "
            "rows in %s and restart the hub.",
            incident_id,
            reason,
            self.store.path,
        )

    async def stop(self) -> None:
        """Finish the writes in flight, then stop. Connections are closed by the server."""
        self._closing = True
        if self._presence_repair is not None:
            self._presence_repair.cancel()
        if self._writer is not None:
            while not self.queue.empty():
                await asyncio.sleep(0.01)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self.live.stop()

    # --- timers -------------------------------------------------------------------------------
    async def tick(self) -> int:
        """Record every time-driven event now due (by the hub's clock). Returns how many."""
        recorded = 0
        now = self.clock()
        for room in list(self.rooms.values()):
            # Each timer rule on its own: one whose event is refused (or whose code fails) is
            # set aside until the next tick and never holds up the other timers of the incident.
            for rule in timers.TIMERS:
                for _ in range(50):
                    try:
                        drafts = timers.due_from(rule, room.state, now)
                    except Exception:
                        log.exception("timer %s failed", getattr(rule, "__name__", rule))
                        break
                    if not drafts:
                        break
                    # An old record may hold a client's event under the timer's id (the writer
                    # then gives the timer's event a fresh one): known before the write.
                    self.ids.prefetch([drafts[0].id])
                    # Decided again on the state at write time: on a shared database another
                    # hub may have fired it meanwhile, and it must fire once (#22).
                    head = room.head
                    reply = await self.record_decided(
                        room.incident_id,
                        functools.partial(_due_now, rule=rule, now=now),
                        actor=Actor(name=HUB_ACTOR, seat=Role.HUB),
                    )
                    if isinstance(reply, Error):
                        log.error("timer event refused: %s", reply.message)
                        break
                    if not reply.events or room.head == head:
                        break  # no longer due, or already stored (the same id): nothing new
                    recorded += 1
        return recorded

    async def run_timers(self, interval: float = 1.0) -> None:
        while not self._closing:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except Exception:  # a timer bug must not take the hub down
                log.exception("timer tick failed")


def _due_now(state: IncidentState, *, rule: timers.Timer, now: datetime) -> Admission:
    """The next event ``rule`` says is due in ``state`` (at write time), if any."""
    return Admission(events=tuple(timers.due_from(rule, state, now)[:1]))
