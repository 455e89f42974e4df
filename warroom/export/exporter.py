"""Write incidents into an export file: the raw log, the readable timeline, and derived tables.

The log is streamed in batches of ``BATCH`` events and folded as it goes, so memory stays flat
however long the incident: only the current batch of rows and the folded state are held, never
the log. The tables that describe the end state (board, decisions, lock, actions) come from the
same fold the hub and consoles use. Every write is an upsert on a stable key, so re-exporting into
the same file updates rows in place and never duplicates them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils

from warroom.core.corrections import corrected
from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.log import EventError, parse_event
from warroom.core.state import IncidentState
from warroom.export import derived
from warroom.export.schema import GENERATOR, SCHEMA_VERSION, TABLE, TABLES, VIEWS
from warroom.export.sources import DatabaseSource, Source

#: ``progress(incident_id, events_done, events_total)`` after each batch.
Progress = Callable[[str, int, int], None]
BATCH = 2000


class ExportFileError(RuntimeError):
    """The output file cannot take an export (it is something else); the message says why."""


@dataclass
class ExportResult:
    path: Path
    incidents: list[str] = field(default_factory=list)
    events: int = 0
    states: dict[str, IncidentState] = field(default_factory=dict)


def open_export(path: str | Path) -> sqlite_utils.Database:
    """Open (or create) an export file with the current schema.

    A SQLite file that holds other tables (a hub's own database, say) is refused: exporting into
    it would mix the export's rows into someone else's tables.
    """
    path = Path(path)
    # Opened as a URI so that the hub's file can be attached read-only (``_attach_hub``).
    db = sqlite_utils.Database(sqlite3.connect(file_uri(path), uri=True))
    try:
        tables = set(db.table_names())
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ExportFileError(
            f"{path} is not a SQLite file ({exc}); write the export to another file."
        ) from exc
    if tables and _generator(db) != GENERATOR:
        db.close()
        raise ExportFileError(
            f"{path} is a SQLite file that is not a warroom export (it has the tables "
            f"{', '.join(sorted(tables)[:4])}...); write the export to a new file."
        )
    # A refreshed export overwrites what a redaction removed: zeroed, not left in free space.
    db.execute("PRAGMA secure_delete=ON")
    # Nothing is fsynced while writing: an export is written again from the hub's record, never
    # recovered, and the rollback journal still keeps the file whole if the export is killed.
    # Fifty fsynced commits per 100,000 events were a second of a busy disk (issue 24).
    db.execute("PRAGMA synchronous=OFF")
    # The log is written as one transaction per incident (see ``_export_one``): a page cache
    # that holds the index of event ids (random UUIDs, so every page of it is touched) keeps
    # SQLite from writing those pages out and reading them back again and again. 32 MB holds
    # it for some 500,000 events; memory stays bounded by it however long the incident.
    db.execute("PRAGMA cache_size=-32768")
    db.executescript(TABLES)
    db.table("meta").upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
    db.table("meta").upsert({"key": "generator", "value": GENERATOR}, pk="key")
    return db


def _generator(db: sqlite_utils.Database) -> str | None:
    if "meta" not in db.table_names():
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'generator'").fetchone()
    return row[0] if row else None


def export_incidents(
    source: Source,
    out: str | Path,
    incident_ids: list[str],
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Export ``incident_ids`` from ``source`` into the SQLite file ``out``."""
    db = open_export(out)
    result = ExportResult(path=Path(out))
    exported_at = (now or datetime.now(UTC)).isoformat()
    try:
        hub = _attach_hub(db, source)
        try:
            for incident_id in incident_ids:
                state, count = _export_one(db, source, incident_id, progress, exported_at, hub)
                result.incidents.append(incident_id)
                result.events += count
                result.states[incident_id] = state
        finally:
            if hub:
                db.execute("DETACH DATABASE hub")
        for name, sql in VIEWS.items():
            db.create_view(name, sql, replace=True)
        if not db.table("timeline").detect_fts():
            db.table("timeline").enable_fts(["text", "actor", "kind"], create_triggers=True)
        elif any(state.redactions for state in result.states.values()):
            # The index keeps the words of a row it was told to forget until it is rebuilt.
            db.table("timeline").rebuild_fts()
        db.conn.commit()
    finally:
        db.close()
    return result


def file_uri(path: Path) -> str:
    """``path`` as a SQLite URI (any character in a file name stays literal)."""
    return "file:" + quote(str(path.resolve()))


def _attach_hub(db: sqlite_utils.Database, source: Source) -> bool:
    """Attach the hub's file read-only as ``hub`` if the source reads one, so the ``events`` rows
    are copied by SQLite itself (see ``_copy_events``); False for any other source."""
    if not isinstance(source, DatabaseSource):
        return False
    db.execute("ATTACH DATABASE ? AS hub", [file_uri(source.path) + "?mode=ro"])
    return True


def _export_one(
    db: sqlite_utils.Database,
    source: Source,
    incident_id: str,
    progress: Progress | None,
    exported_at: str,
    hub: bool = False,
) -> tuple[IncidentState, int]:
    """Write one incident as one transaction.

    A commit per batch wrote the same index pages out fifty times (issue 24); and an export
    killed half-way now leaves the file as it was before it began, so a refreshed file keeps its
    previous export whole rather than half of each.
    """
    with db.atomic():
        return _write_incident(db, source, incident_id, progress, exported_at, hub)


def _write_incident(
    db: sqlite_utils.Database,
    source: Source,
    incident_id: str,
    progress: Progress | None,
    exported_at: str,
    hub: bool,
) -> tuple[IncidentState, int]:
    total = source.count(incident_id)
    state = IncidentState()
    tracker = derived.HistoryTracker(incident_id)
    events: list[tuple[Any, ...]] = []
    timeline: list[tuple[Any, ...]] = []
    done = 0

    # The incident row goes first so every other row's foreign key has something to point at;
    # it is filled in completely once the whole log has been folded. A re-export keeps the row
    # it has until then.
    db.table("incidents").insert({"id": incident_id, "title": ""}, pk="id", ignore=True)

    def flush() -> None:
        upsert_values(db, "events", LOG_KEY, EVENT_COLUMNS, events)
        upsert_values(db, "timeline", LOG_KEY, TIMELINE_COLUMNS, timeline)
        events.clear()
        timeline.clear()

    # A source that reads the hub's file hands over each stored row with its event (see
    # ``DatabaseSource.stored_events``); the events of other sources are serialised here.
    stored = getattr(source, "stored_events", None)
    log = stored(incident_id) if stored else ((e, None) for e in source.events(incident_id))
    last = 0
    for event, row in log:
        before = state
        state = apply(state, event)
        event_values, timeline_values = log_values(event, row)
        if not hub:
            events.append(event_values)
        timeline.append(timeline_values)
        tracker.observe(before, state, event)
        done += 1
        last = event.seq
        if len(timeline) >= BATCH:
            flush()
            if progress:
                progress(incident_id, done, max(total, done))
    flush()
    if hub:
        _copy_events(db, incident_id, last)
    if progress:
        progress(incident_id, done, max(total, done))

    _current_text(db, state)
    upsert(db, "incidents", [derived.incident_row(state, done, exported_at)])
    for table, rows in derived.state_tables(state, tracker):
        upsert(db, table, rows)
    return state, done


def _copy_events(db: sqlite_utils.Database, incident_id: str, last: int) -> None:
    """The incident's ``events`` rows, copied from the attached hub's file by one statement.

    They are the rows :func:`log_values` would write (the hub stores the same columns, in the
    same order, with ``at`` empty rather than NULL when unset), up to ``last``, the last event
    the fold read (a running hub may have appended more since). SQLite copying them itself, not
    a Python tuple bound per row, was a tenth of the export's time (issue 24).
    """
    from warroom.hub.storage import EVENT_COLUMNS as STORED

    stored = ", ".join("nullif(at, '')" if c == "at" else c for c in STORED.split(", "))
    names = ", ".join(f"[{c}]" for c in EVENT_COLUMNS)
    db.conn.execute(
        f"INSERT INTO events ({names}) SELECT {stored} FROM hub.events "
        f"WHERE incident_id = ? AND seq <= ? ORDER BY seq "
        f"{_on_conflict(LOG_KEY, EVENT_COLUMNS)}",
        [incident_id, last],
    )


def _current_text(db: sqlite_utils.Database, state: IncidentState) -> None:
    """Amended entries read their current text in ``timeline`` (the text they were first
    written with stays in ``events``, and every version in ``corrections``)."""
    for seq in state.corrections:
        row = db.conn.execute(
            "SELECT id, type, at, actor, role, payload FROM events "
            "WHERE incident_id = ? AND seq = ?",
            (state.incident_id, seq),
        ).fetchone()
        if row is None:
            continue
        id_, type_, at, actor, role, payload = row
        data = {**json.loads(payload), "incident_id": state.incident_id, "seq": seq, "id": id_,
                "type": type_, "at": at, "actor": actor, "role": role}  # fmt: skip
        try:
            original = parse_event(data)
        except EventError:
            continue
        db.conn.execute(
            "UPDATE timeline SET text = ? WHERE incident_id = ? AND seq = ?",
            (corrected(state, original).describe(), state.incident_id, seq),
        )


def upsert(db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``, or update in place the rows with the same key (their rowid stays); the
    key is the table's own, from the schema.

    One ``INSERT ... ON CONFLICT DO UPDATE`` statement run over the whole batch: the long tables
    (events, timeline) are written at the speed SQLite reads them, and the full-text index's
    triggers see an update, not a delete and an insert.
    """
    if rows:
        columns = tuple(rows[0])
        values = [tuple(row[c] for c in columns) for row in rows]
        upsert_values(db, table, TABLE[table].primary_key, columns, values)


def upsert_values(
    db: sqlite_utils.Database,
    table: str,
    pk: tuple[str, ...],
    columns: tuple[str, ...],
    values: list[tuple[Any, ...]],
) -> None:
    """:func:`upsert` for rows already laid out as ``columns`` (the log's hot path)."""
    if not values:
        return
    names = ", ".join(f"[{c}]" for c in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO [{table}] ({names}) VALUES ({marks}) {_on_conflict(pk, columns)}"
    db.conn.executemany(sql, values)


def _on_conflict(pk: tuple[str, ...], columns: tuple[str, ...]) -> str:
    """The clause that makes an ``INSERT`` of ``columns`` an upsert on the key ``pk``."""
    keys = ", ".join(f"[{c}]" for c in pk)
    updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in columns if c not in pk)
    return f"ON CONFLICT ({keys}) " + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING")


#: The key of the two tables with one row per event, and their columns in order.
LOG_KEY = TABLE["events"].primary_key
EVENT_COLUMNS = TABLE["events"].column_names
TIMELINE_COLUMNS = TABLE["timeline"].column_names


def log_values(
    event: EventBase, stored: tuple[Any, ...] | None = None
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The event's ``events`` row (the envelope in columns, its own fields as JSON) and its
    ``timeline`` row (the line the console shows), laid out as their columns.

    ``stored`` is the event's row in the hub's file, if the source read one: the hub wrote it
    from the same event in the same layout (``at`` empty rather than NULL when unset), so it
    is copied as it is."""
    if stored is not None:
        # The row is used as it is unless ``at`` is empty: a new tuple per event was a tenth of
        # the Python side of the export (issue 24).
        values = stored if stored[4] else (*stored[:4], None, *stored[5:])
        at, role = values[4], values[6]
    else:
        at = event.at.isoformat() if event.at else None
        role = event.role.value
        payload = json.dumps(event.payload(), separators=(",", ":"))
        values = (event.incident_id, event.seq, str(event.id), event.type, at, event.actor, role,
                  payload)  # fmt: skip
    return (
        values,
        (event.incident_id, event.seq, at, event.actor, role, event.entry_kind(), event.describe()),
    )


def event_row(event: EventBase) -> dict[str, Any]:
    """The ``events`` row of ``event``, by column."""
    return dict(zip(EVENT_COLUMNS, log_values(event)[0], strict=True))


def timeline_row(event: EventBase) -> dict[str, Any]:
    """The ``timeline`` row of ``event``, by column."""
    return dict(zip(TIMELINE_COLUMNS, log_values(event)[1], strict=True))
