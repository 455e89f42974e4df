"""The write path: every command and every hub-made event goes through one writer task.

It takes every command waiting in its queue, checks each against the core's rules in order
(admission), writes the accepted ones in a single SQLite transaction (a group commit), and only
then acknowledges them and wakes the connections that follow each incident. Refused commands get
an error and leave no trace. A failed write is answered and presence repaired once writes work.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

from warroom.hub.fanout import Fanout, event_frame
from warroom.hub.hubstate import Decided, Pending, new_event_id
from warroom.hub.redaction import rewrite_frames
from warroom.hub.rooms import IdIndex, Room, Stored
from warroom.hub.storage import row_event
from warroom.hub.storage_follow import release_batch, take_batch

from warroom.core.admission import Admission, presence_repair
from warroom.core.corrections import EntryCorrection, name_entry
from warroom.core.events import Actor, EventBase, Refusal, refuse
from warroom.core.fold import apply
from warroom.core.incident import IncidentDeclared
from warroom.core.names import valid_incident_id
from warroom.core.protocol import Ack, Error, LockView, lock_change
from warroom.core.redaction import EntryRedacted, rewrites_of
from warroom.core.roles import HUB_ACTOR, Role
from warroom.core.rules import check_command
from warroom.core.state import IncidentState

log = logging.getLogger("warroom.hub")

#: Most commands taken into one transaction.
MAX_BATCH = 512


class Writer(Fanout):
    """Admission and group commit, on top of fan-out (accepted events wake their rooms)."""

    # --- recording ----------------------------------------------------------------------------
    async def record_by_hub(
        self,
        incident_id: str,
        draft: EventBase,
        actor: Actor | None = None,
    ) -> Ack | Error:
        """Record an event the hub itself decided on (timers)."""
        await self.live.room(incident_id)  # a closed incident is loaded to record in it
        draft = draft.model_copy(update={"incident_id": incident_id})
        item = Pending(
            draft=draft, actor=actor or Actor(name=HUB_ACTOR, seat=Role.HUB), by_hub=True
        )
        await self.queue.put(item)
        return await item.done

    async def record_decided(
        self, incident_id: str, decide: Callable[[IncidentState], Admission], actor: Actor
    ) -> Admission | Error:
        """Record what a core decision (an arrival, a departure, a presence repair) returns
        for the incident's state at write time, in one batch; returns what was decided then."""
        await self.live.room(incident_id)  # a closed incident is loaded to record in it
        item = Decided(incident_id=incident_id, decide=decide, actor=actor)
        await self.queue.put(item)
        return await item.done

    async def _write_loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._write_batch(batch)
            except Exception as exc:
                log.exception("write batch failed")
                self._write_failed(batch, exc)

    def _write_failed(self, batch: list[Pending | Decided], exc: BaseException) -> None:
        """Answer every sender of a batch that could not be stored, and repair presence later.

        Nothing of the batch reached memory (state, log, ids), so the hub serves exactly what is
        stored; each sender is told ``internal`` and may retry with the same id.
        """
        self.write_failures += 1
        log.error(
            "could not store %d commands (%s); each sender was answered 'internal'. The hub "
            "keeps serving and retries presence until writes succeed again.",
            len(batch),
            " ".join(str(exc).split())[:200] or type(exc).__name__,
        )
        for item in batch:
            if item.done.done():
                continue
            reply = Error(
                code="internal",
                message="The hub could not store this; nothing was written. Try again.",
                id=item.draft.id if isinstance(item, Pending) else None,
            )
            self.refused += 1
            if isinstance(item, Pending) and item.conn is not None:
                self.send_direct(item.conn, reply)
            _answer(item, reply)
        if self._presence_repair is None or self._presence_repair.done():
            self._presence_repair = asyncio.create_task(self._repair_presence())

    async def _repair_presence(self) -> None:
        """After failed writes: record joins and departures that were lost, once writes work."""
        delay = self.retry_interval
        while not self._closing:
            await asyncio.sleep(delay)
            if await self.reconcile_presence():
                return
            delay = min(delay * 2, 30.0)  # a disk that stays full is not retried every second

    async def reconcile_presence(self) -> bool:
        """Make every incident show online exactly who is connected to it. True once done."""
        for room in list(self.rooms.values()):
            shown = {n for n, p in room.state.participants.items() if p.online}
            if self.store.shared:  # others may be online through another hub (#22)
                shown = set()
            for name in sorted(set(room.online) | shown):
                seat = next((c.seat for c in room.conns if c.name == name), Role.RESPONDER)
                connected = room.online.get(name, 0) > 0
                if not presence_repair(room.state, name, seat, connected).events:
                    continue
                # Decided again at write time: joins and leaves go on meanwhile.
                reply = await self.record_decided(
                    room.incident_id,
                    functools.partial(_repair_for, room=room, name=name, seat=seat),
                    actor=Actor(name=name, seat=seat),
                )
                if isinstance(reply, Error):
                    return False
        return True

    async def _write_batch(self, batch: list[Pending | Decided]) -> None:
        if not self.store.shared:
            await self._decide_and_store(batch)
            return
        # Several hubs on one database (#22): the batch's incidents are locked and caught up
        # first, so the rules below decide on what every hub stored; see storage_follow.py.
        async with self.write_turn:
            await take_batch(self, batch)  # type: ignore[arg-type]
            try:
                await self._decide_and_store(batch)
            finally:
                await release_batch(self)  # type: ignore[arg-type]

    async def _decide_and_store(
        self, batch: list[Pending | Decided], recheck: Sequence[UUID] = ()
    ) -> None:
        """Decide ``batch`` in order, store what was accepted in one commit, then deliver it.

        Whether a command's id is already stored (idempotency) is known from memory for recent
        ids. Older ones: on a shared database (#22) they are looked up in one query before
        deciding. A hub that owns its SQLite file skips that query: the commit itself refuses an
        id stored before (``events.id`` is unique) and rolls back; the ids are then looked up
        and the batch decided again with them known (``recheck``: the ids to look up), so what
        is stored and answered is the same either way, without a query per batch on the loop.
        """
        tentative: dict[str, IncidentState] = {}
        new_rooms: dict[str, Room] = {}
        accepted: list[EventBase] = []
        in_batch: IdIndex = {}
        replies: list[tuple[Pending, Ack | Error]] = []
        decisions: list[tuple[Decided, Admission | Error]] = []
        #: The lock after each accepted event that changed it, for its frame (see _admit).
        locks: dict[UUID, LockView] = {}
        now = self.clock()
        self._batch_events = {}
        #: Stored events a redaction in this batch rewrites (as they must read), by incident.
        rewrites: list[EventBase] = []
        sent_ids = [item.draft.id for item in batch if isinstance(item, Pending)]
        # Command ids older than the ones in memory: looked up in one query for the batch, up
        # front on a shared database, after a refused commit on one's own SQLite file.
        self.ids.prefetch(recheck or (sent_ids if self.store.shared else ()))

        for item in batch:
            if isinstance(item, Decided):
                decided = self._admit_decided(item, now, tentative, new_rooms, in_batch, locks)
                if isinstance(decided, Error):
                    decisions.append((item, decided))
                else:
                    admission, events = decided
                    accepted.extend(events)
                    decisions.append((item, admission))
                continue
            outcome = self._admit(item, now, tentative, new_rooms, in_batch, locks)
            if isinstance(outcome, EntryRedacted):
                rewrites.extend(self._rewrites_of(outcome, tentative[outcome.incident_id]))
            if isinstance(outcome, EventBase):
                accepted.append(outcome)
                in_batch[outcome.id] = Stored(outcome.incident_id, outcome.seq, outcome.actor)
                replies.append(
                    (item, Ack(id=outcome.id, incident=outcome.incident_id, seq=outcome.seq))
                )
            else:
                replies.append((item, outcome))

        if accepted:
            try:
                await self.live.append(accepted, list(tentative.values()), rewrites)
            except Exception as exc:  # a full disk, an I/O error: answered, then retried
                ids = [*sent_ids, *(e.id for e in accepted)]
                if not (recheck or self.store.shared) and self.ids.prefetch(ids):
                    # An id stored before, no longer in memory: decided again knowing it.
                    await self._decide_and_store(batch, recheck=ids)
                    return
                self._write_failed(batch, exc)
                return
            self.rooms.update(new_rooms)
            touched: set[Room] = set()
            for event in accepted:
                room = self.rooms[event.incident_id]
                room.append(event_frame(event, locks.get(event.id)))
                self.ids[event.id] = Stored(event.incident_id, event.seq, event.actor)
                touched.add(room)
            for incident_id, state in tentative.items():
                self.rooms[incident_id].state = state
                if rewrites:
                    rewrite_frames(self.rooms[incident_id],
                                   [e for e in rewrites if e.incident_id == incident_id])  # fmt: skip
            if rewrites:
                self._batch_events = {}  # nothing of the batch outlives it with the old text
            for room in touched:
                self._wake(room)
            self.accepted += len(accepted)
            for event in accepted:
                self._run_after_store(event)

        for item, reply in replies:
            if isinstance(reply, Error):
                self.refused += 1
                key = (item.draft.incident_id, item.draft.type, reply.code)
                self.refusals[key] = self.refusals.get(key, 0) + 1
            if item.conn is not None:
                self.send_direct(item.conn, reply)
            if not item.done.done():
                item.done.set_result(reply)
        for decided_item, decision in decisions:
            if isinstance(decision, Error):
                self.refused += 1
            if not decided_item.done.done():
                decided_item.done.set_result(decision)

    def _run_after_store(self, event: EventBase) -> None:
        for hook in self.after_store:
            try:
                hook(event)
            except Exception:  # a side effect must never fail a stored write
                log.exception("after_store hook failed for %s", event.type)

    def _admit(
        self,
        item: Pending,
        now: datetime,
        tentative: dict[str, IncidentState],
        new_rooms: dict[str, Room],
        in_batch: IdIndex,
        locks: dict[UUID, LockView] | None = None,
    ) -> EventBase | Error:
        """Decide one command against the state as it will be after the earlier ones.

        An accepted event that changed the production lock leaves the lock after it in
        ``locks``, so its frame carries it (protocol 2: a client reads tokens from frames)."""
        draft = item.draft
        # Idempotency, checked only once the connection was let speak in this incident (see
        # ``_command``): a retry of one's own stored command is acknowledged again; an id stored
        # by someone else, or in another incident, is refused without saying where it is.
        stored = self.ids.get(draft.id) or in_batch.get(draft.id)
        if stored is not None and item.by_hub and stored.actor != HUB_ACTOR:
            # Only in a record made before client ids were kept apart from the hub's: the
            # hub's event takes a fresh id rather than being mistaken for the client's.
            draft = draft.model_copy(update={"id": new_event_id()})
            stored = None
        if stored is not None:
            same_incident = stored.incident_id == draft.incident_id or (
                isinstance(draft, IncidentDeclared) and not draft.incident_id
            )
            if not same_incident or stored.actor != item.actor.name:
                return _error(
                    refuse("id_taken", "This id is already used by another event; send the "
                           "command with a fresh id."),
                    draft,
                )  # fmt: skip
            return Ack(id=draft.id, incident=stored.incident_id, seq=stored.seq, duplicate=True)  # type: ignore[return-value]

        if isinstance(draft, IncidentDeclared):
            incident_id = draft.incident_id or self._new_incident_id()
            if (
                incident_id in self.rooms
                or incident_id in new_rooms
                or incident_id in self.set_aside
                or self.live.exists(incident_id)
            ):
                return _error(
                    refuse("already_declared", f"Incident {incident_id} already exists."), draft
                )
            if not valid_incident_id(incident_id):
                return _error(
                    refuse("invalid", "An incident id is 3-40 ASCII letters, digits or '-'."),
                    draft,
                )
            state = IncidentState()
            draft = draft.model_copy(update={"incident_id": incident_id})
        else:
            room = self.rooms.get(draft.incident_id) or new_rooms.get(draft.incident_id)
            if room is None and draft.incident_id not in self.set_aside:
                room = self.live.room_now(draft.incident_id)  # closed, dropped meanwhile
            if room is None and draft.incident_id in self.set_aside:
                return _error(refuse("unavailable", self._unavailable(draft.incident_id)), draft)
            if room is None:
                return _error(
                    refuse("unknown_incident", f"No incident {draft.incident_id!r} on this hub."),
                    draft,
                )
            state = tentative.get(draft.incident_id, room.state)

        # What only the hub knows, stamped at write time before the rules read it: the entry a
        # correction names (from the log) and the facts about an alert group (from its store).
        if isinstance(draft, EntryCorrection):
            draft = name_entry(draft, self._named_entry(draft, state))
        draft = self.alert_link.stamp(draft)
        if not item.by_hub:
            refusal = check_command(state, draft, item.actor, now)
            if refusal is not None:
                return _error(refusal, draft)

        at = (
            now
            if state.last_event_at is None or now >= state.last_event_at
            else state.last_event_at
        )
        role = (
            Role.HUB
            if item.actor.seat == Role.HUB
            else state.role_of(item.actor.name, item.actor.seat)
        )
        if isinstance(draft, IncidentDeclared):
            role = Role.IC
        event = draft.model_copy(
            update={"seq": state.seq + 1, "at": at, "actor": item.actor.name, "role": role}
        ).hub_fill(self.settings, state)
        try:
            after = apply(state, event)
        except Exception as exc:  # a fold bug must refuse the command, not kill the hub
            log.exception("fold failed for %s", event.type)
            return _error(refuse("internal", f"The hub could not apply this event: {exc}"), draft)
        tentative[event.incident_id] = after
        self._batch_events[(event.incident_id, event.seq)] = event
        lock = lock_change(state.lock, after.lock)
        if lock is not None and locks is not None:
            locks[event.id] = lock
        if isinstance(draft, IncidentDeclared):
            new_rooms[event.incident_id] = self.live.new_room(event.incident_id, state)
        return event

    def _admit_decided(
        self,
        item: Decided,
        now: datetime,
        tentative: dict[str, IncidentState],
        new_rooms: dict[str, Room],
        in_batch: IdIndex,
        locks: dict[UUID, LockView] | None = None,
    ) -> tuple[Admission, list[EventBase]] | Error:
        """Decide a hub-made batch against the state as it is now, and admit all of its
        events or none (the tentative state is put back if one is refused)."""
        room = self.rooms.get(item.incident_id) or new_rooms.get(item.incident_id)
        if room is None:
            room = self.live.room_now(item.incident_id)  # closed, dropped meanwhile
        if room is None:
            return Error(
                code="unknown_incident", message=f"No incident {item.incident_id!r} on this hub."
            )
        before = tentative.get(item.incident_id)
        try:
            admission = item.decide(before if before is not None else room.state)
        except Exception as exc:  # a policy bug must not kill the hub
            log.exception("admission decision failed in %s", item.incident_id)
            return Error(code="internal", message=f"The hub could not decide this: {exc}")
        events: list[EventBase] = []
        for draft in admission.events:
            pending = Pending(
                draft=draft.model_copy(update={"incident_id": item.incident_id}),
                actor=item.actor,
                by_hub=True,
            )
            outcome = self._admit(pending, now, tentative, new_rooms, in_batch, locks)
            if isinstance(outcome, Error):
                if before is None:
                    tentative.pop(item.incident_id, None)
                else:
                    tentative[item.incident_id] = before
                for event in events:
                    in_batch.pop(event.id, None)
                return outcome
            if isinstance(outcome, EventBase):  # not a duplicate: hub drafts have fresh ids
                events.append(outcome)
                in_batch[outcome.id] = Stored(outcome.incident_id, outcome.seq, outcome.actor)
        return admission, events

    def _rewrites_of(self, redaction: EntryRedacted, after: IncidentState) -> list[EventBase]:
        """The stored events ``redaction`` rewrites, as they must read (its entry, and every
        amendment of it, which ``after``, the state it made, still lists by seq), read as a
        named entry is (this batch, the room's memory, storage)."""
        return rewrites_of(
            redaction, after, lambda seq: self._stored_at(redaction.incident_id, seq, after)
        )

    def _named_entry(self, draft: EntryCorrection, state: IncidentState) -> EventBase | None:
        """The stored (or just admitted) event a correction names, from this batch, the room's
        frames in memory, or storage: the state keeps no index of entries (see
        :mod:`warroom.core.corrections`)."""
        return self._stored_at(draft.incident_id, draft.entry, state)

    def _stored_at(self, incident_id: str, seq: int, state: IncidentState) -> EventBase | None:
        """Event ``seq`` of ``incident_id`` (up to ``state``'s head), wherever it is."""
        if not 1 <= seq <= state.seq:
            return None
        fresh = self._batch_events.get((incident_id, seq))
        if fresh is not None:
            return fresh
        room = self.rooms.get(incident_id)
        found = room.event_at(seq) if room is not None else None
        if found is not None:
            return found
        try:
            rows = self.store.event_rows(incident_id, seq - 1, 1)
            if not rows or rows[0][1] != seq:
                return None
            return row_event(rows[0])
        except Exception:  # an unreadable row: the rules answer unknown_entry
            log.exception("could not read entry %s of %s", seq, incident_id)
            return None

    def _new_incident_id(self) -> str:
        while True:
            candidate = "inc-" + secrets.token_hex(3)
            if not self.live.exists(candidate):
                return candidate


def _error(refusal: Refusal, draft: EventBase) -> Error:
    return Error(code=refusal.code, message=refusal.message, id=draft.id)


def _answer(item: Pending | Decided, reply: Error) -> None:
    if not item.done.done():
        item.done.set_result(reply)


def _repair_for(state: IncidentState, *, room: Room, name: str, seat: Role) -> Admission:
    """The presence repair for ``name``, with whether they are connected read at write time."""
    return presence_repair(state, name, seat, room.online.get(name, 0) > 0)
