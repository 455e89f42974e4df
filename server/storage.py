"""Durable storage of the event log in one SQLite file (WAL mode), through sqlite-utils.

The hub writes a batch of events in one transaction and only then acknowledges or broadcasts
them, so an acknowledged event survives a crash of the hub process.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from warroom.core.events import EventBase
from warroom.core.log import parse_event
from warroom.core.state import IncidentState

SCHEMA_VERSION = 1

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
    "INSERT INTO incidents (id, title, severity, phase, declared_at, head_seq, drill, updated_at) "
    "VALUES (:id, :title, :severity, :phase, :declared_at, :head_seq, :drill, :updated_at) "
    "ON CONFLICT(id) DO UPDATE SET title = excluded.title, severity = excluded.severity, "
    "phase = excluded.phase, declared_at = excluded.declared_at, head_seq = excluded.head_seq, "
    "drill = excluded.drill, updated_at = excluded.updated_at"
)


class LogReader:
    """Reading the event log: the hub's own store, or anyone reading its file (the export).

    One copy of the queries, so whatever reads the hub's database reads it as the hub does.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    @staticmethod
    def read_only(path: str | Path) -> LogReader:
        """Open a hub's database file for reading only (the hub may keep running meanwhile):
        nothing is created or changed in it."""
        conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return LogReader(sqlite_utils.Database(conn))

    # --- reading ------------------------------------------------------------------------------
    def incident_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT incident_id FROM events ORDER BY 1")]

    def events(self, incident_id: str, since: int = 0, batch: int = 2000) -> Iterator[EventBase]:
        """Every event of an incident after ``since``, in ``seq`` order, read in batches."""
        last = since
        while True:
            rows = self.db.execute(
                "SELECT incident_id, seq, id, type, at, actor, role, payload FROM events "
                "WHERE incident_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                [incident_id, last, batch],
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield row_event(row)
            last = rows[-1][1]

    def event_ids(self, incident_id: str) -> list[tuple[str, int]]:
        """The ids and seqs of an incident's events, without reading the events themselves."""
        return [
            (str(r[0]), int(r[1]))
            for r in self.db.execute(
                "SELECT id, seq FROM events WHERE incident_id = ?", [incident_id]
            )
        ]

    def count(self, incident_id: str | None = None) -> int:
        if incident_id is None:
            return int(self.db.execute("SELECT count(*) FROM events").fetchone()[0])
        query = "SELECT count(*) FROM events WHERE incident_id = ?"
        return int(self.db.execute(query, [incident_id]).fetchone()[0])

    def close(self) -> None:
        self.db.conn.close()


class Store(LogReader):
    """The hub's database: an ``events`` table (the log) and an ``incidents`` table (summaries)."""

    def __init__(self, path: str | Path, durability: str = DEFAULT_DURABILITY) -> None:
        if durability not in DURABILITY:
            raise ValueError(
                f"durability must be one of {', '.join(DURABILITY)}, not {durability!r}"
            )
        self.path = Path(path)
        self.durability = durability
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        # One connection, used by one writer at a time (the hub serialises its writes).
        self.db = sqlite_utils.Database(conn)
        if str(path) != ":memory:":
            self.db.enable_wal()
        # See DURABILITY: what each level survives. WAL makes every commit one sequential append.
        self.db.execute(f"PRAGMA synchronous={DURABILITY[durability]}")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._ensure_schema()
        self._check_writable()

    def _check_writable(self) -> None:
        """Fail now, not at the first command, if SQLite may not write this file."""
        with self.db.atomic():
            self.db.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")

    def _ensure_schema(self) -> None:
        if "events" not in self.db.table_names():
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
            self.db.table("events").create_index(["id"], unique=True)
        if "incidents" not in self.db.table_names():
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
                },
                pk="id",
            )
        if "meta" not in self.db.table_names():
            self.db.table("meta").insert(
                {"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key"
            )

    # --- writing ------------------------------------------------------------------------------
    def append(self, events: Sequence[EventBase], states: Sequence[IncidentState]) -> None:
        """Store ``events`` and refresh the summaries of ``states``, all in one transaction."""
        rows = [tuple(event_row(e).values()) for e in events]
        summaries = [incident_row(s) for s in states]
        # Plain prepared statements on the hot path: sqlite-utils' insert_all inspects the table
        # on every call, which was a third of the hub's fixed cost per commit.
        with self.db.atomic():
            self.db.conn.executemany(INSERT_EVENT, rows)
            if summaries:
                self.db.conn.executemany(UPSERT_INCIDENT, summaries)

    def close(self) -> None:
        try:
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
    }
