"""The hub: validates each command, stores it durably, then acknowledges and broadcasts it.

:class:`Hub` is the façade the server and the tests use; its work is done by layers in their own
modules (see :mod:`warroom.hub.hubstate`): fan-out to consoles, the write path, joining, the
per-connection protocol and the HTTP views. The façade itself owns the life cycle (loading,
starting, stopping) and the timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from warroom.hub.connection import Connections
from warroom.hub.fanout import abort_if_open, event_frame
from warroom.hub.hubstate import HubLimits, Pending, UnreadableIncident
from warroom.hub.rooms import IdIndex, Room, Stored
from warroom.hub.storage import Store
from warroom.hub.views import Views

from warroom.core import timers
from warroom.core.clock import Clock, utc_now
from warroom.core.fold import apply
from warroom.core.protocol import Error
from warroom.core.settings import HubSettings
from warroom.core.state import IncidentState

__all__ = ["Hub", "HubLimits", "Pending", "UnreadableIncident", "abort_if_open", "event_frame"]

log = logging.getLogger("warroom.hub")


class Hub(Connections, Views):
    """The authority for every incident on this hub."""

    def __init__(
        self,
        store: Store,
        settings: HubSettings | None = None,
        clock: Clock = utc_now,
        limits: HubLimits | None = None,
    ) -> None:
        super().__init__(store, settings, clock, limits)
        self.after_store.append(self._disconnect_revoked)

    # --- life cycle ---------------------------------------------------------------------------
    async def load(self) -> None:
        """Read every incident from the store (reads only; nothing is written)."""
        if not self._loaded:
            await asyncio.to_thread(self._load)
            self._loaded = True

    async def start(self) -> None:
        """Load every incident from the store (if not done yet), then start writing."""
        await self.load()
        self._writer = asyncio.create_task(self._write_loop(), name="warroom-writer")
        # Nobody is connected to a hub that just started: record that for anyone still shown
        # online (the hub stopped or crashed while they were connected).
        await self.reconcile_presence()

    def _load(self) -> None:
        for incident_id in self.store.incident_ids():
            try:
                self.rooms[incident_id] = self._load_room(incident_id)
            except Exception as exc:  # one unreadable incident must not stop the others
                self._set_aside(incident_id, exc)

    def _load_room(self, incident_id: str) -> Room:
        state = IncidentState()
        room = Room(incident_id=incident_id, state=state)
        ids: IdIndex = {}
        seq = 0
        try:
            for event in self.store.events(incident_id):
                seq = event.seq
                state = apply(state, event)
                room.log.append(event_frame(event))
                ids[event.id] = Stored(incident_id, event.seq, event.actor)
        except Exception as exc:
            raise UnreadableIncident(f"the event after seq {seq} cannot be read: {exc}") from exc
        room.state = state
        self.ids.update(ids)
        return room

    def _set_aside(self, incident_id: str, exc: Exception) -> None:
        """Keep an incident whose log cannot be read out of service, and say so (log, /healthz).

        Its rows stay untouched in the database for someone to repair; its id and its event ids
        stay taken, so nothing new can collide with them.
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
        try:
            for event_id, seq in self.store.event_ids(incident_id):
                with contextlib.suppress(ValueError):
                    self.ids[UUID(event_id)] = Stored(incident_id, seq)
        except Exception:  # the ids are a safeguard; the database will refuse a clash anyway
            log.warning("could not read the event ids of set-aside incident %s", incident_id)

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
                    reply = await self.record_by_hub(room.incident_id, drafts[0])
                    if isinstance(reply, Error):
                        log.error("timer event refused: %s", reply.message)
                        break
                    if reply.duplicate:
                        break
                    recorded += 1
        return recorded

    async def run_timers(self, interval: float = 1.0) -> None:
        while not self._closing:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except Exception:  # a timer bug must not take the hub down
                log.exception("timer tick failed")
