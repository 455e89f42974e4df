"""Durable storage of the event log in one SQLite file (WAL mode), through sqlite-utils.

The hub writes a batch of events in one transaction and only then acknowledges or broadcasts
them, so an acknowledged event survives a crash of the hub process.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import sqlite_utils
from warroom.hub.checkpoints import Checkpoint, encode, fold_stamp
from warroom.hub.redaction import forget_old_pages

from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.log import parse_event
from warroom.core.phases import Phase
from warroom.core.state import IncidentState

log = logging.getLogger("warroom.hub")

#: 1: events, incidents, meta. 2: checkpoints; incidents gain detected_at, ic, participants (so
#: the incident list is served without loading closed incidents).
SCHEMA_VERSION = 2
#: Events between two checkpoints of one incident (``[memory] checkpoint_every``).
DEFAULT_CHECKPOINT_EVERY = 1000

#: ``--durability`` levels and the SQLite ``synchronous`` setting each uses (in WAL mode).
#: Both survive a crash or SIGKILL of the hub process: a commit is in the WAL file, in the
#: operating system's cache, before the hub acknowledges it. Only ``full`` also survives power
#: loss or a kernel crash: it fsyncs the WAL on every commit (one fsync per group commit), where
#: ``normal`` fsyncs only at checkpoints and may lose the last commits (never corrupting the file).
DURABILITY: dict[str, str] = {"normal": "NORMAL", "full": "FULL"}
DEFAULT_DURABILITY = "full"


INSERT_EVENT = (
    "INSERT INTO events (incident_id, seq, id, type, at, actor, role, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_INCIDENT = (
    "INSERT INTO incidents (id, title, severity, phase, declared_at, head_seq, drill, updated_at, "
    "detected_at, ic, participants) "
    "VALUES (:id, :title, :severity, :phase, :declared_at, :head_seq, :drill, :updated_at, "
    ":detected_at, :ic, :participants) "
    "ON CONFLICT(id) DO UPDATE SET title = excluded.title, severity = excluded.severity, "
    "phase = excluded.phase, declared_at = excluded.declared_at, head_seq = excluded.head_seq, "
    "drill = excluded.drill, updated_at = excluded.updated_at, "
    "detected_at = excluded.detected_at, ic = excluded.ic, participants = excluded.participants"
)
UPSERT_CHECKPOINT = (
    "INSERT INTO checkpoints (incident_id, seq, event_id, stamp, state) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(incident_id) DO UPDATE SET seq = excluded.seq, event_id = excluded.event_id, "
    "stamp = excluded.stamp, state = excluded.state"
)
EVENT_COLUMNS = "incident_id, seq, id, type, at, actor, role, payload"
#: The one rewrite of a stored event: a redaction replaces what its author wrote (#23).
REWRITE_PAYLOAD = "UPDATE events SET payload = ? WHERE incident_id = ? AND seq = ? AND id = ?"


class QueryReader:
    """Reading the event log, whatever database holds it: the queries, written once.

    One copy of the queries, so whatever reads the hub's database reads it as the hub does
    (the SQLite file or PostgreSQL). A subclass says how a query runs (:meth:`_rows`); the SQL
    uses ``?`` placeholders, which the PostgreSQL reader translates.
    """

    #: One query at a time on this reader's connection (the hub reads from worker threads).
    lock: threading.RLock

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _row(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    # --- reading ------------------------------------------------------------------------------
    def incident_ids(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT DISTINCT incident_id FROM events ORDER BY 1")]

    def events(self, incident_id: str, since: int = 0, batch: int = 2000) -> Iterator[EventBase]:
        """Every event of an incident after ``since``, in ``seq`` order, read in batches."""
        last = since
        while True:
            rows = self.event_rows(incident_id, last, batch)
            if not rows:
                return
            for row in rows:
                yield row_event(row)
            last = rows[-1][1]

    def event_rows(self, incident_id: str, after: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` raw rows of an incident's events with seq > ``after``, in seq order."""
        return self._rows(
            f"SELECT {EVENT_COLUMNS} FROM events "
            "WHERE incident_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            [incident_id, after, limit],
        )

    def events_between(self, incident_id: str, after: int, upto: int) -> list[EventBase]:
        """The events of an incident with ``after`` < seq <= ``upto``, in seq order."""
        return [row_event(r) for r in self.event_rows(incident_id, after, max(0, upto - after))]

    def events_before(self, incident_id: str, before: int, limit: int) -> list[EventBase]:
        """The newest ``limit`` events of an incident with seq < ``before``, oldest first: one
        page of history (``history``, the export, a console scrolling back)."""
        rows = self._rows(
            f"SELECT {EVENT_COLUMNS} FROM events "
            "WHERE incident_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            [incident_id, before, max(0, limit)],
        )
        return [row_event(r) for r in reversed(rows)]

    def page(self, incident_id: str, start: int, count: int) -> list[dict[str, Any]]:
        """Events ``start .. start + count - 1`` of an incident as JSON (a ``history_page``)."""
        events = self.events(incident_id, since=start - 1, batch=max(1, count))
        return [event.model_dump(mode="json") for event in islice(events, count)]

    def head_of(self, incident_id: str) -> int:
        """The seq of an incident's last stored event (0 if it has none)."""
        row = self._row("SELECT max(seq) FROM events WHERE incident_id = ?", [incident_id])
        return int(row[0] or 0) if row is not None else 0

    def event_id_at(self, incident_id: str, seq: int) -> str | None:
        row = self._row(
            "SELECT id FROM events WHERE incident_id = ? AND seq = ?", [incident_id, seq]
        )
        return None if row is None else str(row[0])

    def find_ids(self, ids: Iterable[str]) -> dict[str, tuple[str, int, str]]:
        """Where each of ``ids`` is stored, if it is: ``{id: (incident_id, seq, actor)}``.

        One indexed query per few hundred ids: the idempotency check for ids older than the
        hub's in-memory window."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        found: dict[str, tuple[str, int, str]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._rows(
                f"SELECT id, incident_id, seq, actor FROM events WHERE id IN ({marks})", chunk
            )
            for id_, incident_id, seq, actor in rows:
                found[str(id_)] = (str(incident_id), int(seq), str(actor or ""))
        return found

    def checkpoint(self, incident_id: str) -> Checkpoint | None:
        row = self._row(
            "SELECT incident_id, seq, event_id, stamp, state FROM checkpoints "
            "WHERE incident_id = ?",
            [incident_id],
        )
        if row is None:
            return None
        return Checkpoint(str(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]))

    def live_incident_ids(self) -> list[str]:
        """The incidents a hub loads at start: every one not closed."""
        rows = self._rows(
            "SELECT id FROM incidents WHERE phase != ? ORDER BY id", [Phase.CLOSED.value]
        )
        return [str(r[0]) for r in rows]

    def has_incident(self, incident_id: str) -> bool:
        return self._row("SELECT 1 FROM incidents WHERE id = ?", [incident_id]) is not None

    def incident_rows(self, include_closed: bool) -> list[dict[str, Any]]:
        """The summaries the hub keeps of every incident (one row each, updated with every write)."""
        query = (
            "SELECT id, title, severity, phase, declared_at, detected_at, participants, ic, drill, "
            "head_seq FROM incidents"
        )
        args: list[Any] = []
        if not include_closed:
            query += " WHERE phase != ?"
            args.append(Phase.CLOSED.value)
        rows = self._rows(query, args)
        keys = [
            "id",
            "title",
            "severity",
            "phase",
            "declared_at",
            "detected_at",
            "participants",
            "ic",
            "drill",
            "head",
        ]
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def count(self, incident_id: str | None = None) -> int:
        if incident_id is None:
            row = self._row("SELECT count(*) FROM events")
        else:
            row = self._row("SELECT count(*) FROM events WHERE incident_id = ?", [incident_id])
        return int(row[0]) if row is not None else 0


class LogReader(QueryReader):
    """Reading a hub's SQLite file: the hub's own store, or anyone reading it (the export)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.lock = threading.RLock()

    @staticmethod
    def read_only(path: str | Path) -> LogReader:
        """Open a hub's database file for reading only (the hub may keep running meanwhile):
        nothing is created or changed in it."""
        conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return LogReader(sqlite_utils.Database(conn))

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return list(self.db.execute(sql, list(args)).fetchall())

    def close(self) -> None:
        self.db.conn.close()


class Writing(QueryReader):
    """What every store does when it writes, whatever its database: which checkpoints are due
    with a batch of events, and the ones written on a clean stop (see ``server/checkpoints.py``).
    A subclass says how rows are written (:meth:`_store_checkpoints`)."""

    #: Events of one incident between two checkpoints (0: only on a clean stop).
    checkpoint_every: int
    #: The seq of each incident's stored checkpoint, as far as this hub knows.
    checkpointed: dict[str, int]
    #: Checkpoints written since the store was opened.
    checkpoints_written: int

    def _store_checkpoints(self, rows: Sequence[tuple[str, int, str, str, str]]) -> None:
        raise NotImplementedError

    def _due_checkpoints(
        self,
        events: Sequence[EventBase],
        states: Sequence[IncidentState],
        rewritten: Collection[str] = (),
    ) -> list[tuple[str, int, str, str, str]]:
        due = []
        last_ids = {(e.incident_id, e.seq): str(e.id) for e in events}
        for state in states:
            done = self.checkpointed.get(state.incident_id, 0)
            every = self.checkpoint_every
            closing = state.phase == Phase.CLOSED and any(
                e.incident_id == state.incident_id and e.type == "phase_changed" for e in events
            )
            # A redaction replaces the checkpoint too: the old one may hold what it removed.
            redacted = state.incident_id in rewritten
            if (every > 0 and state.seq - done >= every) or closing or redacted:
                event_id = last_ids.get((state.incident_id, state.seq))
                if event_id is not None:
                    due.append(
                        (state.incident_id, state.seq, event_id, fold_stamp(), encode(state))
                    )
        return due

    def _checkpointed(self, rows: Sequence[tuple[str, int, str, str, str]]) -> None:
        for incident_id, seq, *_ in rows:
            self.checkpointed[incident_id] = seq
        self.checkpoints_written += len(rows)

    def write_checkpoints(self, states: Iterable[IncidentState]) -> int:
        """Checkpoint every state that is past its last checkpoint (on a clean stop, and for a
        closed incident dropped from memory). Safe to call while the writer is writing."""
        with self.lock:
            rows = []
            for state in states:
                if not state.incident_id or state.seq <= self.checkpointed.get(
                    state.incident_id, 0
                ):
                    continue
                event_id = self.event_id_at(state.incident_id, state.seq)
                if event_id is None:  # not in the log (cannot happen): write nothing for it
                    continue
                rows.append((state.incident_id, state.seq, event_id, fold_stamp(), encode(state)))
            if rows:
                self._store_checkpoints(rows)
                self._checkpointed(rows)
        return len(rows)


class Store(LogReader, Writing):
    """The hub's database: ``events`` (the log), ``incidents`` (one summary row each, kept in
    step with the log), ``checkpoints`` (folded states, a cache; see ``server/checkpoints.py``).

    The hub's writer uses this connection; reads made off the writer (loading an incident on
    demand, history pages) go through :attr:`reader`, a second connection, so they never see
    a transaction the writer has not committed yet.
    """

    def __init__(
        self,
        path: str | Path,
        durability: str = DEFAULT_DURABILITY,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ) -> None:
        if durability not in DURABILITY:
            raise ValueError(
                f"durability must be one of {', '.join(DURABILITY)}, not {durability!r}"
            )
        self.path = Path(path)
        #: One hub per SQLite file: nobody else writes to it (see ``server/dbfile.py``).
        self.shared = False
        self.durability = durability
        #: Events of one incident between two checkpoints (0: only on a clean stop).
        self.checkpoint_every = checkpoint_every
        #: The seq of each incident's stored checkpoint, as far as this hub knows.
        self.checkpointed: dict[str, int] = {}
        #: Checkpoints written since the store was opened.
        self.checkpoints_written = 0
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        # One connection, used by one writer at a time (the hub serialises its writes).
        super().__init__(sqlite_utils.Database(conn))
        if str(path) != ":memory:":
            self.db.enable_wal()
        # See DURABILITY: what each level survives. WAL makes every commit one sequential append.
        self.db.execute(f"PRAGMA synchronous={DURABILITY[durability]}")
        self.db.execute("PRAGMA busy_timeout=5000")
        # What is overwritten or deleted is zeroed, not left in free space: a redacted secret
        # (and an old checkpoint that held it) must be gone from the file itself.
        self.db.execute("PRAGMA secure_delete=ON")
        self._ensure_schema()
        self._check_writable()
        self.reader: LogReader = self
        if str(path) != ":memory:":
            reading = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            reading.execute("PRAGMA busy_timeout=5000")
            self.reader = LogReader(sqlite_utils.Database(reading))

    def _check_writable(self) -> None:
        """Fail now, not at the first command, if SQLite may not write this file."""
        with self.db.atomic():
            self.db.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")

    def schema_version(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row is not None else 0

    def _ensure_schema(self) -> None:
        tables = set(self.db.table_names())
        if "events" not in tables:
            self.db.table("events").create(
                {
                    "incident_id": str,
                    "seq": int,
                    "id": str,
                    "type": str,
                    "at": str,
                    "actor": str,
                    "role": str,
                    "payload": str,
                },
                pk=("incident_id", "seq"),
                not_null={"incident_id", "seq", "id", "type", "at"},
            )
        # The idempotency check looks older command ids up here (every file has had it).
        self.db.execute("CREATE UNIQUE INDEX IF NOT EXISTS idx_events_id ON events (id)")
        if "incidents" not in tables:
            self.db.table("incidents").create(
                {
                    "id": str,
                    "title": str,
                    "severity": str,
                    "phase": str,
                    "declared_at": str,
                    "head_seq": int,
                    "drill": int,
                    "updated_at": str,
                    "detected_at": str,
                    "ic": str,
                    "participants": int,
                },
                pk="id",
            )
        if "checkpoints" not in tables:
            self.db.table("checkpoints").create(
                {"incident_id": str, "seq": int, "event_id": str, "stamp": str, "state": str},
                pk="incident_id",
            )
        if "meta" not in tables:
            self.db.table("meta").insert(
                {"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key"
            )
        version = self.schema_version()
        if version < 2:
            self._migrate_to_2()

    def _migrate_to_2(self) -> None:
        """Version 1 files: add the summary columns, and fill them (and a checkpoint) for every
        incident by folding its log once. Slow once on a large file; every later start is not."""
        columns = {c.name for c in self.db.table("incidents").columns}
        with self.db.atomic():
            for name, kind in (
                ("detected_at", "TEXT"),
                ("ic", "TEXT"),
                ("participants", "INTEGER"),
            ):
                if name not in columns:
                    self.db.execute(f"ALTER TABLE incidents ADD COLUMN {name} {kind}")
        ids = [r[0] for r in self.db.execute("SELECT DISTINCT incident_id FROM events")]
        if ids:
            log.warning(
                "upgrading %s to schema version 2: folding %d incidents once", self.path, len(ids)
            )
        for incident_id in ids:
            state = IncidentState()
            try:
                for event in self.events(incident_id):
                    state = apply(state, event)
            except Exception as exc:  # the hub sets this incident aside when it loads it
                log.error("incident %s cannot be folded while upgrading: %s", incident_id, exc)
                continue
            event_id = self.event_id_at(incident_id, state.seq) or ""
            with self.db.atomic():
                self.db.conn.execute(UPSERT_INCIDENT, incident_row(state))
                self.db.conn.execute(
                    UPSERT_CHECKPOINT,
                    (incident_id, state.seq, event_id, fold_stamp(), encode(state)),
                )
        with self.db.atomic():
            self.db.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)]
            )

    # --- writing ------------------------------------------------------------------------------
    def append(
        self,
        events: Sequence[EventBase],
        states: Sequence[IncidentState],
        rewrites: Sequence[EventBase] = (),
    ) -> None:
        """Store ``events`` and refresh the summaries of ``states``, all in one transaction;
        with them, a checkpoint of each state that is ``checkpoint_every`` events past its last
        one, or that has just closed (so a closed incident loads without folding).

        ``rewrites`` are stored events as a redaction leaves them: their payload is replaced in
        the same transaction, the incident's checkpoint with it, and then the WAL is emptied
        into the file (see :func:`warroom.hub.redaction.forget_old_pages`)."""
        rows = [tuple(event_row(e).values()) for e in events]
        summaries = [incident_row(s) for s in states]
        rewritten = {e.incident_id for e in rewrites}
        checkpoints = self._due_checkpoints(events, states, rewritten)
        # Plain prepared statements on the hot path: sqlite-utils' insert_all inspects the table
        # on every call, which was a third of the hub's fixed cost per commit. The lock keeps a
        # checkpoint written off the writer (unloading, stopping) out of this transaction.
        with self.lock, self.db.atomic():
            self.db.conn.executemany(INSERT_EVENT, rows)
            if rewrites:
                self.db.conn.executemany(REWRITE_PAYLOAD, [rewrite_row(e) for e in rewrites])
            if summaries:
                self.db.conn.executemany(UPSERT_INCIDENT, summaries)
            if checkpoints:
                self.db.conn.executemany(UPSERT_CHECKPOINT, checkpoints)
        self._checkpointed(checkpoints)
        if rewrites:
            forget_old_pages(self)

    def _store_checkpoints(self, rows: Sequence[tuple[str, int, str, str, str]]) -> None:
        with self.db.atomic():
            self.db.conn.executemany(UPSERT_CHECKPOINT, rows)

    def begin_batch(self, incident_ids: Iterable[str]) -> None:
        """Nothing to wait for: one hub owns a SQLite file (``DatabaseLock``)."""

    def read_after(self, heads: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
        """Nothing to catch up on: nobody else writes to this file."""
        return {}

    def end_batch(self) -> None:
        """Nothing was begun by :meth:`begin_batch`."""

    def abandon(self) -> None:
        """Close without writing anything (a start that failed)."""
        self.db.conn.close()

    def close(self) -> None:
        try:
            if self.reader is not self:
                self.reader.close()
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.conn.close()


def event_row(event: EventBase) -> dict[str, Any]:
    return {
        "incident_id": event.incident_id,
        "seq": event.seq,
        "id": str(event.id),
        "type": event.type,
        "at": event.at.isoformat() if event.at else "",
        "actor": event.actor,
        "role": event.role.value,
        "payload": json.dumps(event.payload(), separators=(",", ":")),
    }


def rewrite_row(event: EventBase) -> tuple[str, str, int, str]:
    """The parameters of :data:`REWRITE_PAYLOAD` for a rewritten stored ``event``."""
    row = event_row(event)
    return (row["payload"], row["incident_id"], row["seq"], row["id"])


def row_event(row: Sequence[Any]) -> EventBase:
    incident_id, seq, id_, type_, at, actor, role, payload = row
    data = json.loads(payload)
    data.update(incident_id=incident_id, seq=seq, id=id_, type=type_, at=at, actor=actor, role=role)
    return parse_event(data)


def incident_row(state: IncidentState) -> dict[str, Any]:
    return {
        "id": state.incident_id,
        "title": state.title,
        "severity": state.severity.value,
        "phase": state.phase.value,
        "declared_at": state.declared_at.isoformat() if state.declared_at else "",
        "head_seq": state.seq,
        "drill": int(state.drill),
        "updated_at": state.last_event_at.isoformat() if state.last_event_at else "",
        "detected_at": state.detected_at.isoformat() if state.detected_at else "",
        "ic": state.ic or "",
        "participants": len(state.participants),
    }
