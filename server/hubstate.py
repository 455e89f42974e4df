"""What every part of the hub shares: its bounds, its rooms and connections, its counters.

The hub is built in layers, each a class in its own module that uses only the layers below it:
this shared state, then :mod:`~warroom.hub.fanout` (sending to consoles), then
:mod:`~warroom.hub.writer` (admission, group commit, presence repair), then
:mod:`~warroom.hub.joining` (joining and leaving an incident), then
:mod:`~warroom.hub.connection` (one connection's protocol and limits), and on top the
:class:`~warroom.hub.hub.Hub` façade (life cycle, timers) with :mod:`~warroom.hub.views`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4
from weakref import WeakKeyDictionary

from warroom.hub.credentials import OPEN, Credential
from warroom.hub.limits import TokenBucket
from warroom.hub.rooms import Conn, RecentIds, Room
from warroom.hub.storage import Store

from warroom.core.admission import Admission
from warroom.core.clock import Clock, utc_now
from warroom.core.events import Actor, EventBase
from warroom.core.protocol import Ack, Error
from warroom.core.settings import HubSettings
from warroom.core.state import IncidentState

if TYPE_CHECKING:
    from warroom.hub.loading import LiveIncidents


class UnreadableIncident(Exception):
    """An incident whose stored log cannot be read or folded."""


@dataclass(eq=False)
class Pending:
    """A draft event waiting for the writer, with whom to answer."""

    draft: EventBase
    actor: Actor
    conn: Conn | None = None
    #: Hub-made events skip the client rules (the hub is the authority on its own events).
    by_hub: bool = False
    done: asyncio.Future[Ack | Error] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass(eq=False)
class Decided:
    """Hub-made events decided by a core function at write time (an arrival, a departure).

    The writer calls ``decide`` with the incident's state as it is when the batch is written,
    after the earlier commands of that batch, and writes the events it returns together or not
    at all: a decision can never act on a state that changed while it waited in the queue.
    """

    incident_id: str
    decide: Callable[[IncidentState], Admission]
    actor: Actor
    done: asyncio.Future[Admission | Error] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class HubLimits:
    """Bounds that keep one console from hurting the others."""

    #: Direct replies (acks, errors) waiting for one console before it is cut off.
    direct_queue: int = 1000
    #: Events a live console may fall behind before it is disconnected (it resumes on reconnect).
    max_lag: int = 20_000
    #: Messages a second one connection may send on average (0: no limit), and the burst it may
    #: send at once (an outbox flushed after an outage). Beyond that it is read at the rate.
    rate: float = 50.0
    burst: int = 200
    #: Connections one name may hold open at once (a console, a second screen, a script).
    per_name: int = 8
    #: Seconds a connection may stay open without a ``hello`` before it is closed.
    hello_timeout: float = 10.0
    #: Messages a second that all the connections of one credential (a token, a join code, the
    #: open hub) may send together, and their burst (0: no limit). Twenty connections from one
    #: script are read no faster than one budget allows.
    credential_rate: float = 100.0
    credential_burst: int = 200
    #: Open connections one join code may hold, and one token (or the open hub).
    per_code: int = 100
    per_token: int = 500
    #: Seconds a console may leave its socket full (reading nothing) before it is cut off.
    stall_timeout: float = 30.0


class HubState:
    """The state the hub's layers share; each layer adds behaviour, none adds state."""

    #: Which incidents are in memory, loading on demand, checkpoints on stop (set by the Hub).
    live: LiveIncidents

    def __init__(
        self,
        store: Store,
        settings: HubSettings | None = None,
        clock: Clock = utc_now,
        limits: HubLimits | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or HubSettings()
        self.clock = clock
        self.limits = limits or HubLimits()
        #: The incidents in memory: every open one, closed ones while used (see loading.py).
        self.rooms: dict[str, Room] = {}
        #: The idempotency index (its capacity is set by the Hub from ``[memory]``).
        self.ids = RecentIds(store.find_ids)
        #: The events admitted in the batch being written, by (incident, seq): a correction in
        #: the same batch may name one (see ``Writer._named_entry``).
        self._batch_events: dict[tuple[str, int], EventBase] = {}
        self.queue: asyncio.Queue[Pending | Decided] = asyncio.Queue()
        self.conns: set[Conn] = set()
        self.refused = 0
        #: Flood episodes slowed to the per-connection rate.
        self.throttled = 0
        #: Refused commands by (incident, event type, error code): counted, never stored.
        self.refusals: dict[tuple[str, str, str], int] = {}
        self.accepted = 0
        #: Incidents whose stored log could not be read, with why: not served (see /healthz).
        self.set_aside: dict[str, str] = {}
        #: Failed group commits (e.g. a full disk): their senders were answered ``internal``.
        self.write_failures = 0
        self._loaded = False
        #: Seconds between attempts to repair presence after a failed write.
        self.retry_interval = 1.0
        self._presence_repair: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        #: Called with each event once it is stored (features hook side effects here, such as
        #: webhook delivery); a hook must not block: it schedules its work and returns.
        self.after_store: list[Callable[[EventBase], None]] = []
        #: What each connection was let in with (filled in by the server's handshake check).
        self.credentials: WeakKeyDictionary[Any, Credential] = WeakKeyDictionary()
        #: Names of the registered people (``warroom people``); set by the server.
        self.registered: Callable[[], set[str]] = set
        #: Open connections and the shared message budget of each credential (token, join code).
        self.open_by_credential: dict[Credential, int] = {}
        self.budgets: dict[Credential, TokenBucket] = {}
        self._budget_turns: dict[Credential, asyncio.Lock] = {}

    def credential_of(self, conn: Conn) -> Credential:
        return self.credentials.get(conn.ws, OPEN)

    def _unavailable(self, incident_id: str) -> str:
        return (
            f"Incident {incident_id} is set aside: the hub cannot read its record "
            "(see the hub's log). Every other incident is served."
        )


def new_event_id() -> UUID:
    """A fresh random id for an event the hub makes or a command typed without one."""
    return uuid4()
