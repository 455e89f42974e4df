"""What the hub asks of its database: the storage interface, and opening the one a hub names.

Two implementations: :class:`warroom.hub.storage.Store` (one SQLite file, the default, one hub
per file) and :class:`warroom.hub.storage_pg.PgStore` (PostgreSQL, which several hubs may share).
The hub, its loader and its views use only what is declared here, so both behave the same; the
tests in ``tests/test_storage_behaviour.py`` run the same checks against both.

"Acknowledged" means committed: :meth:`EventStore.append` returns only once its transaction is
committed, and the writer acknowledges nothing before it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from warroom.hub.checkpoints import Checkpoint

from warroom.core.events import EventBase
from warroom.core.state import IncidentState

#: What a ``--db`` naming a PostgreSQL database starts with (anything else is a SQLite file).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(db: str | Path) -> bool:
    """Whether ``db`` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return str(db).startswith(POSTGRES_SCHEMES)


class LogRead(Protocol):
    """Reading the record: every read the hub makes off its writer."""

    def events(
        self, incident_id: str, since: int = 0, batch: int = 2000
    ) -> Iterator[EventBase]: ...

    def event_rows(self, incident_id: str, after: int, limit: int) -> list[tuple[Any, ...]]: ...

    def events_between(self, incident_id: str, after: int, upto: int) -> list[EventBase]: ...

    def events_before(self, incident_id: str, before: int, limit: int) -> list[EventBase]: ...

    def page(self, incident_id: str, start: int, count: int) -> list[dict[str, Any]]: ...

    def head_of(self, incident_id: str) -> int: ...

    def event_id_at(self, incident_id: str, seq: int) -> str | None: ...

    def find_ids(self, ids: Iterable[str]) -> dict[str, tuple[str, int, str]]: ...

    def checkpoint(self, incident_id: str) -> Checkpoint | None: ...

    def live_incident_ids(self) -> list[str]: ...

    def has_incident(self, incident_id: str) -> bool: ...

    def incident_rows(self, include_closed: bool) -> list[dict[str, Any]]: ...

    def incident_ids(self) -> list[str]: ...

    def count(self, incident_id: str | None = None) -> int: ...

    def close(self) -> None: ...


class EventStore(LogRead, Protocol):
    """The hub's database: the log, the incident summaries, the checkpoints.

    The writer calls :meth:`begin_batch` before it decides a batch and :meth:`append` (or
    :meth:`end_batch` when nothing was accepted) after: on a shared database (``shared``) the
    first waits for the right to write to each incident of the batch, and :meth:`read_after`
    then returns the events other hubs stored since the heads this hub holds (in the same
    transaction), so the rules decide on the latest state.
    """

    #: Events of one incident between two checkpoints (0: only on a clean stop).
    checkpoint_every: int
    #: The seq of each incident's stored checkpoint, as far as this hub knows.
    checkpointed: dict[str, int]
    #: Checkpoints written since the store was opened.
    checkpoints_written: int
    #: True when other hubs may write to the same database (PostgreSQL).
    shared: bool

    @property
    def reader(self) -> LogRead:
        """Reads made off the writer (loading, history pages) go through this."""
        ...

    @property
    def path(self) -> Path | str:
        """Where the record is, for messages (a file, or a URL without its password)."""
        ...

    def begin_batch(self, incident_ids: Iterable[str]) -> None: ...

    def read_after(self, heads: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]: ...

    def end_batch(self) -> None: ...

    def append(
        self,
        events: Sequence[EventBase],
        states: Sequence[IncidentState],
        rewrites: Sequence[EventBase] = (),
    ) -> None: ...

    def write_checkpoints(self, states: Iterable[IncidentState]) -> int: ...

    def abandon(self) -> None:
        """Close without writing anything (a start that failed)."""
        ...


def open_store(db: str | Path, durability: str, checkpoint_every: int | None = None) -> EventStore:
    """The store ``db`` names: a PostgreSQL URL, or a SQLite file (``:memory:`` in tests)."""
    from warroom.hub.storage import DEFAULT_CHECKPOINT_EVERY, Store

    every = DEFAULT_CHECKPOINT_EVERY if checkpoint_every is None else checkpoint_every
    if is_postgres(db):
        from warroom.hub.storage_pg import PgStore

        return PgStore(str(db), checkpoint_every=every)
    return Store(db, durability=durability, checkpoint_every=every)
