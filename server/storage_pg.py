"""The record in PostgreSQL (psycopg 3): the same tables and queries as the SQLite store, and
what lets several hubs share one database.

Several hubs may write to one database. Writes to one incident are serialised across them by a
transaction-scoped advisory lock per incident, taken in :meth:`PgStore.begin_batch` (in a fixed
order, so two hubs never wait on each other in a cycle); with the lock held, the hub reads the
events other hubs stored since the head it holds, so its rules decide on the latest state. The
``(incident_id, seq)`` primary key and the unique event id are the last fence: a hub that lost
the lock (its connection dropped, its transaction rolled back) cannot commit a seq someone else
holds. A commit sends ``NOTIFY warroom_events, '<incident>:<head>'``: a wake-up for the other
hubs, never the data (they read the events by seq; see ``server/storage_follow.py``).

"Acknowledged" means committed: :meth:`PgStore.append` returns after ``COMMIT`` succeeded.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from warroom.hub.people import People
from warroom.hub.storage import (
    DEFAULT_CHECKPOINT_EVERY,
    EVENT_COLUMNS,
    SCHEMA_VERSION,
    UPSERT_INCIDENT,
    QueryReader,
    Writing,
    event_row,
    incident_row,
    rewrite_row,
)
from warroom.hub.storage_claims import SCHEMA as DELIVERIES

from warroom.core.events import EventBase
from warroom.core.state import IncidentState

log = logging.getLogger("warroom.hub")
T = TypeVar("T")

#: The channel every hub listens on; the payload is ``<incident id>:<head seq>``.
CHANNEL = "warroom_events"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (incident_id TEXT NOT NULL, seq BIGINT NOT NULL, "
    "id TEXT NOT NULL, type TEXT NOT NULL, at TEXT NOT NULL, actor TEXT, role TEXT, "
    "payload TEXT, PRIMARY KEY (incident_id, seq))",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_events_id ON events (id)",
    "CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, title TEXT, severity TEXT, "
    "phase TEXT, declared_at TEXT, head_seq BIGINT, drill INTEGER, updated_at TEXT, "
    "detected_at TEXT, ic TEXT, participants INTEGER)",
    "CREATE TABLE IF NOT EXISTS checkpoints (incident_id TEXT PRIMARY KEY, seq BIGINT, "
    "event_id TEXT, stamp TEXT, state TEXT)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    DELIVERIES,
)

INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
#: A hub never replaces a newer checkpoint with an older one (another hub may be further on),
#: unless the newer one was written by another fold (then it is useless to this code).
#: The one rewrite of a stored event: a redaction replaces what its author wrote (#23).
REWRITE_PAYLOAD_PG = (
    "UPDATE events SET payload = %s WHERE incident_id = %s AND seq = %s AND id = %s"
)
UPSERT_CHECKPOINT = (
    "INSERT INTO checkpoints (incident_id, seq, event_id, stamp, state) "
    "VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (incident_id) DO UPDATE SET seq = excluded.seq, event_id = excluded.event_id, "
    "stamp = excluded.stamp, state = excluded.state "
    "WHERE checkpoints.seq <= excluded.seq OR checkpoints.stamp <> excluded.stamp"
)


#: The summary upsert, SQLite's ``:name`` parameters as psycopg's ``%(name)s``.
UPSERT_INCIDENT_PG = re.sub(r":([a-z_]+)", r"%(\1)s", UPSERT_INCIDENT)


def qmark(sql: str) -> str:
    """The store's queries use ``?`` (SQLite's style); psycopg takes ``%s``."""
    return sql.replace("?", "%s")


def shown(url: str) -> str:
    """``url`` without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class Link:
    """One connection, reopened after it broke (a restarted or failed-over server)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def get(self) -> psycopg.Connection[tuple[Any, ...]]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            conn = psycopg.connect(self.url, autocommit=True)
            self._conn = conn
        return conn

    def run(self, work: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        """``work(connection)``, once more on a new connection if the server had dropped this
        one (a restart, a failover, an idle timeout). Only for work that changes nothing unless
        it completes: a read, or a transaction of its own."""
        try:
            return work(self.get())
        except psycopg.OperationalError:
            conn = self._conn
            if conn is not None and not (conn.closed or conn.broken):
                raise  # the connection is fine: the error is the work's own
            log.warning("the database dropped a connection; reconnecting")
            return work(self.get())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PgReader(QueryReader):
    """Reading the record in PostgreSQL on a connection of its own (never the writer's)."""

    def __init__(self, url: str) -> None:
        self.link = Link(url)
        self.lock = threading.RLock()

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        query = qmark(sql)
        with self.lock:
            return self.link.run(lambda conn: conn.execute(query, list(args)).fetchall())

    def close(self) -> None:
        with self.lock:
            self.link.close()


class PgStore(PgReader, Writing):
    """The hub's database in PostgreSQL: the same tables as the SQLite file.

    The writer's connection (:attr:`writing`) holds at most one transaction, from
    :meth:`begin_batch` to :meth:`append` or :meth:`end_batch`; everything else reads and writes
    on connections of its own (:attr:`reader` for loading and history; this object's own for
    checkpoints written off the writer).
    """

    def __init__(self, url: str, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY) -> None:
        super().__init__(url)
        self.url = url
        self.shared = True
        self.checkpoint_every = checkpoint_every
        self.checkpointed: dict[str, int] = {}
        self.checkpoints_written = 0
        self.writing = Link(url)
        #: Whether the writer's connection has a transaction open (begin_batch .. append).
        self._open = False
        self.reader = PgReader(url)
        self._ensure_schema()

    @property
    def path(self) -> str:
        return shown(self.url)

    def _ensure_schema(self) -> None:
        conn = self.writing.get()
        with conn.transaction():
            # Several hubs may start at once: one creates the tables, the others wait for it.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('warroom schema', 0))")
            for statement in SCHEMA:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO NOTHING",
                [str(SCHEMA_VERSION)],
            )

    def schema_version(self) -> int:
        row = self._row("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(row[0]) if row is not None else 0

    # --- writing ------------------------------------------------------------------------------
    def begin_batch(self, incident_ids: Iterable[str]) -> None:
        """Open the writer's transaction and take the write lock of each incident (sorted, so
        two hubs never deadlock). The locks go with the transaction, or with the connection."""
        self.end_batch()
        ids = sorted(set(incident_ids))

        def begin(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
            conn.execute("BEGIN")
            try:
                for incident_id in ids:
                    conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [incident_id]
                    )
            except BaseException:
                if not (conn.closed or conn.broken):
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("ROLLBACK")
                raise

        # Nothing is written yet: on a connection the server dropped, simply begin again.
        self.writing.run(begin)
        self._open = True

    def read_after(self, heads: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
        """The rows stored after each of ``heads``, read in the writer's transaction."""
        conn = self.writing.get()
        caught: dict[str, list[tuple[Any, ...]]] = {}
        try:
            for incident_id, head in heads.items():
                rows = conn.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events "  # noqa: S608
                    "WHERE incident_id = %s AND seq > %s ORDER BY seq",
                    [incident_id, head],
                ).fetchall()
                if rows:
                    caught[incident_id] = rows
        except BaseException:
            self.end_batch()
            raise
        return caught

    def end_batch(self) -> None:
        """Roll back the writer's transaction if one is open (nothing was accepted, or the
        batch failed), which releases its incidents' locks."""
        if not self._open:
            return
        self._open = False
        try:
            self.writing.get().execute("ROLLBACK")
        except psycopg.Error:
            log.warning("could not roll back the writer's transaction; reconnecting")
            self.writing.close()  # a closed session's transaction and locks end with it

    def append(
        self,
        events: Sequence[EventBase],
        states: Sequence[IncidentState],
        rewrites: Sequence[EventBase] = (),
    ) -> None:
        """Store ``events`` and the summaries (and due checkpoints) of ``states``, and commit:
        in the transaction :meth:`begin_batch` opened, or a new one. ``rewrites`` (a redaction's
        stored events as it leaves them) replace their payloads in the same transaction, and
        the incident's checkpoint with them; PostgreSQL keeps the old row versions until
        autovacuum reclaims them (docs/POSTGRES.md)."""
        rows = [tuple(event_row(e).values()) for e in events]
        summaries = [incident_row(s) for s in states]
        checkpoints = self._due_checkpoints(events, states, {e.incident_id for e in rewrites})
        heads: dict[str, int] = {}
        for event in events:
            heads[event.incident_id] = max(heads.get(event.incident_id, 0), event.seq)
        conn = self.writing.get()
        if not self._open:
            conn.execute("BEGIN")
        self._open = False
        try:
            with conn.cursor() as cur:
                cur.executemany(INSERT_EVENT, rows)
                if rewrites:
                    cur.executemany(REWRITE_PAYLOAD_PG, [rewrite_row(e) for e in rewrites])
                if summaries:
                    cur.executemany(UPSERT_INCIDENT_PG, summaries)
                if checkpoints:
                    cur.executemany(UPSERT_CHECKPOINT, checkpoints)
                for incident_id, head in heads.items():
                    cur.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{incident_id}:{head}"])
            # Acknowledged means committed: a commit that fails raises, and nothing is stored.
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                self.writing.close()
            raise
        self._checkpointed(checkpoints)

    def _store_checkpoints(self, rows: Sequence[tuple[str, int, str, str, str]]) -> None:
        def store(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(UPSERT_CHECKPOINT, rows)

        with self.lock:
            self.link.run(store)

    def abandon(self) -> None:
        self.close()

    def close(self) -> None:
        self.end_batch()
        self.writing.close()
        self.reader.close()
        super().close()


class PgPeople(People):
    """The ``people`` table in PostgreSQL: the same registry, on a connection of its own."""

    def __init__(self, url: str) -> None:
        self.path = url  # type: ignore[assignment]
        self.db = _QmarkConnection(url)  # type: ignore[assignment]
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS people (name TEXT PRIMARY KEY, digest TEXT NOT NULL, "
            "created_at TEXT NOT NULL, revoked_at TEXT)"
        )


class _QmarkConnection:
    """Just enough of ``sqlite3.Connection`` for :class:`People`: ``execute`` with ``?``."""

    def __init__(self, url: str) -> None:
        self.link = Link(url)
        self.lock = threading.Lock()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor[tuple[Any, ...]]:
        query = qmark(sql)
        with self.lock:
            return self.link.run(lambda conn: conn.execute(query, list(args)))

    def close(self) -> None:
        with self.lock:
            self.link.close()
