"""Moving a SQLite hub's history into PostgreSQL (``warroom migrate``, #22).

What moves is everything a hub keeps in its file that the hubs on PostgreSQL need to carry on
exactly where the SQLite hub stopped:

* ``events``: every incident's log, in seq order, byte for byte (ids, times, payloads): the
  record itself;
* ``incidents``: the summary row of each incident (the incident list is served from it, and a
  hub loads the incidents not closed);
* ``checkpoints``: each incident's folded state at a seq (a cache: copied so the hubs on
  PostgreSQL start as fast as the SQLite hub did; a checkpoint a newer warroom cannot use is
  ignored and the log folded, as on SQLite);
* ``people``: the personal tokens' digests, live and revoked, so everyone's token still works
  (and a revoked one stays refused);
* ``gate_credentials``: the pipelines' gate credentials' digests;
* the alert tables (``alert_groups``, ``alerts``, ``alert_changes``, ``alert_group_actions``):
  groups still firing stay listed, tied groups stay tied, dismissals are remembered.

What does not move: the file's ``meta`` row (PostgreSQL has its own schema version) and its lock
file. Webhook deliveries need nothing: on SQLite their outcomes are events of the log.

Everything is copied in one PostgreSQL transaction, then counted again and each incident's log
compared by checksum inside that transaction; only if every figure matches is it committed.
A failure leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.hub.dbfile import DatabaseInUse, DatabaseLock, DatabaseUnusable, explain
from warroom.hub.storage import EVENT_COLUMNS, SCHEMA_VERSION
from warroom.hub.storage_api import is_postgres


class MigrationError(Exception):
    """A migration that cannot be made; the message is one line saying why and what to do."""

    #: ``warroom migrate`` exits with this: 1 refused (the target or the source is in use),
    #: 2 unusable (a missing or broken file, an unreachable database).
    exit_code = 2


class MigrationRefused(MigrationError):
    exit_code = 1


@dataclass(frozen=True)
class Table:
    """One table that moves: its columns, and the order its rows are copied in."""

    name: str
    columns: tuple[str, ...]
    order: str
    #: The column that says whether a row is already in the target (merging).
    key: str | None = None
    label: str = ""


INCIDENT_COLUMNS = (
    "id", "title", "severity", "phase", "declared_at", "head_seq", "drill", "updated_at",
    "detected_at", "ic", "participants",
)  # fmt: skip
#: People's tokens and gate credentials: a name and the digest of its secret.
DIGEST_COLUMNS = ("name", "digest", "created_at", "revoked_at")
CHECKPOINT_COLUMNS = ("incident_id", "seq", "event_id", "stamp", "state")
TABLES = (
    Table("incidents", INCIDENT_COLUMNS, "id", key="id", label="incidents"),
    Table("events", tuple(EVENT_COLUMNS.split(", ")), "incident_id, seq", label="events"),
    Table("checkpoints", CHECKPOINT_COLUMNS, "incident_id", label="checkpoints"),
    Table("people", DIGEST_COLUMNS, "name", key="name", label="people (tokens)"),
    Table("gate_credentials", DIGEST_COLUMNS, "name", key="name", label="gate credentials"),
    Table("alert_groups", (), "id", key="id", label="alert groups"),
    Table("alerts", (), "group_id, fingerprint", label="alerts"),
    # Their ids are numbered again by PostgreSQL, in the same order.
    Table("alert_changes", (), "id", label="alert state changes"),
    Table("alert_group_actions", (), "id", label="alert group actions"),
)
#: Tables of a hub's file that are not copied, on purpose (see the module doc).
LEFT_BEHIND = frozenset({"meta", "sqlite_sequence"})


@dataclass
class Summary:
    """What was (or, in a dry run, would be) copied, table by table."""

    source: str
    target: str
    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    #: Incidents already in the target (a dry run says it would be refused without --merge).
    target_incidents: int = 0
    #: Why a real run would stop (a dry run only reports it).
    blockers: list[str] = field(default_factory=list)
    unknown_tables: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "Would copy" if self.dry_run else "Copied"
        out = [f"{verb} from {self.source} into {self.target}:"]
        for table in TABLES:
            out.append(f"  {table.label:<22}{self.counts.get(table.name, 0):>10,}")
        for name in self.unknown_tables:
            out.append(f"  (table {name} is not warroom's and was not copied)")
        if self.dry_run:
            if self.target_incidents:
                out.append(f"The target already holds {self.target_incidents} incidents.")
            out.extend(f"A real run would stop: {why}" for why in self.blockers)
            out.append("Dry run: nothing was written.")
        else:
            out.append("Verified: every count matches, and every incident's log is identical.")
        return out


Progress = Callable[[str], None]


def migrate(
    source: Path,
    target: str,
    dry_run: bool = False,
    merge: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Copy the hub file ``source`` into the PostgreSQL database ``target`` (see the module
    doc); raises :class:`MigrationError` with a one-line reason."""
    from warroom.hub.storage_pg import shown

    if not is_postgres(target):
        raise MigrationError(f"--to must be a postgresql:// URL, not {target!r}.")
    summary = Summary(str(source), shown(target), dry_run=dry_run)
    say = progress or (lambda _: None)
    lock = _hold(source, summary)
    try:
        with contextlib.closing(_open_source(source)) as src:
            tables = _source_tables(src)
            summary.unknown_tables = sorted(
                set(tables) - {t.name for t in TABLES} - LEFT_BEHIND - {"sqlite_stat1"}
            )
            present = [_with_columns(src, t) for t in TABLES if t.name in tables]
            for table in present:
                summary.counts[table.name] = _count(src, table.name)
            if dry_run:
                try:
                    _inspect_target(target, present, src, merge, summary)
                except MigrationError as exc:  # still worth counting what the file holds
                    summary.blockers.append(str(exc))
                return summary
            _connect(target).close()  # an unreachable database is said so before anything
            _create_schema(target)
            import psycopg

            try:
                _copy(src, target, present, merge, summary, say)
            except psycopg.Error as exc:  # the database went away, a row it refused
                text = " ".join(str(exc).split())[:300]
                raise MigrationError(
                    f"copying into {summary.target} failed: {text}; nothing was committed."
                ) from None
    finally:
        if lock is not None:
            lock.release()
    return summary


def _hold(source: Path, summary: Summary) -> DatabaseLock | None:
    """Hold the hub's lock on ``source`` for the whole copy: no hub may write to it meanwhile
    (nor start on it). A dry run only notes that a hub holds it."""
    if not source.exists():
        raise MigrationError(f"{source} does not exist: give --from the hub's database file.")
    if source.is_dir():
        raise MigrationError(f"{source} is a directory, not a hub's database file.")
    lock = DatabaseLock(source)
    try:
        lock.acquire()
    except DatabaseInUse as exc:
        if not summary.dry_run:
            raise MigrationRefused(
                f"{source} is in use by a hub ({exc.holder}): stop that hub first, so that "
                "nothing is written to the file while it is copied."
            ) from None
        summary.blockers.append(f"a hub holds {source} ({exc.holder}); stop it first.")
        return None
    except DatabaseUnusable as exc:
        raise MigrationError(str(exc)) from None
    return lock


def _open_source(source: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        tables = _source_tables(conn)
        version = None
        if {"events", "meta"} <= tables:
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as exc:
        raise MigrationError(str(explain(source, exc))) from None
    if version is None:
        conn.close()
        raise MigrationError(f"{source} is not a warroom hub's database (it has no event log).")
    if int(version[0]) < SCHEMA_VERSION:
        conn.close()
        raise MigrationError(
            f"{source} was written by an older warroom (schema {version[0]}): start a hub on it "
            "once with this version (it upgrades the file), stop it, then migrate."
        )
    if int(version[0]) > SCHEMA_VERSION:
        conn.close()
        raise MigrationError(
            f"{source} was written by a newer warroom (schema {version[0]}): migrate with that one."
        )
    return conn


def _source_tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(r[0]) for r in rows}


def _with_columns(src: sqlite3.Connection, table: Table) -> Table:
    """``table`` with its columns read from the file where the hub's schema lists them all
    (the alert tables); a numbered ``id`` is left for PostgreSQL to number again."""
    if table.columns:
        return table
    columns = [str(r[1]) for r in src.execute(f"PRAGMA table_info({table.name})")]
    numbered = table.order == "id" and table.key is None
    kept = tuple(c for c in columns if not (numbered and c == "id"))
    return Table(table.name, kept, table.order, table.key, table.label)


def _count(src: sqlite3.Connection, name: str) -> int:
    return int(src.execute(f"SELECT count(*) FROM {name}").fetchone()[0])  # noqa: S608


def _connect(target: str) -> Any:
    import psycopg
    from warroom.hub.storage_pg import shown

    try:
        return psycopg.connect(target)
    except psycopg.Error as exc:
        text = " ".join(str(exc).split())[:300]
        raise MigrationError(f"{shown(target)} cannot be reached: {text}.") from None


def _inspect_target(
    target: str, tables: list[Table], src: sqlite3.Connection, merge: bool, summary: Summary
) -> None:
    with contextlib.closing(_connect(target)) as conn:
        for why in _clashes(conn, tables, src, merge, summary):
            summary.blockers.append(why)


def _clashes(
    conn: Any, tables: list[Table], src: sqlite3.Connection, merge: bool, summary: Summary
) -> Iterator[str]:
    """Why the copy may not be made into ``conn``'s database as it is now."""
    if conn.execute("SELECT to_regclass('incidents')").fetchone()[0] is None:
        return
    summary.target_incidents = int(conn.execute("SELECT count(*) FROM incidents").fetchone()[0])
    if summary.target_incidents and not merge:
        yield (
            f"{summary.target} already holds {summary.target_incidents} incidents (migrated "
            "before?): give a fresh database, or --merge to add these beside them."
        )
        return
    for table in tables:
        if table.key is None:
            continue
        if conn.execute("SELECT to_regclass(%s)", [table.name]).fetchone()[0] is None:
            continue
        mine = [str(r[0]) for r in src.execute(f"SELECT {table.key} FROM {table.name}")]  # noqa: S608
        found = conn.execute(
            f"SELECT {table.key} FROM {table.name} WHERE {table.key} = ANY(%s) "  # noqa: S608
            f"ORDER BY 1 LIMIT 5",
            [mine],
        ).fetchall()
        if found:
            names = ", ".join(str(r[0]) for r in found)
            yield f"{table.label} already in {summary.target}: {names}; nothing was copied."


def _create_schema(target: str) -> None:
    """The hub's own tables in the target, created by the hub's own code."""
    import psycopg
    from warroom.hub.alert_store import AlertStore
    from warroom.hub.gate_store import GateCredentials
    from warroom.hub.storage_pg import PgPeople, PgStore, shown

    try:
        PgStore(target).close()
        PgPeople(target).close()
        AlertStore(target).close()
        gates = GateCredentials(target)
        gates.listing()
        gates.close()
    except psycopg.Error as exc:
        text = " ".join(str(exc).split())[:300]
        raise MigrationError(f"{shown(target)} cannot be used: {text}.") from None


def _copy(
    src: sqlite3.Connection,
    target: str,
    tables: list[Table],
    merge: bool,
    summary: Summary,
    say: Progress,
) -> None:
    with contextlib.closing(_connect(target)) as conn:
        # One writer at a time into one database: a second migration waits, then is refused.
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('warroom migrate', 0))")
        blockers = list(_clashes(conn, tables, src, merge, summary))
        if blockers:
            raise MigrationRefused(blockers[0])
        before = {t.name: _target_count(conn, t.name) for t in tables}
        with conn.cursor() as cur:
            for table in tables:
                say(f"copying {table.label} ({summary.counts[table.name]:,})")
                columns = ", ".join(table.columns)
                rows = src.execute(
                    f"SELECT {columns} FROM {table.name} ORDER BY {table.order}"  # noqa: S608
                )
                with cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:  # noqa: S608
                    for row in rows:
                        copy.write_row(row)
        say("verifying")
        for table in tables:
            copied = _target_count(conn, table.name) - before[table.name]
            if copied != summary.counts[table.name]:
                conn.rollback()
                raise MigrationError(
                    f"{table.label}: {summary.counts[table.name]} in the file but {copied} "
                    "copied; nothing was committed."
                )
        for incident_id, digest in _log_digests(src).items():
            theirs = conn.execute(
                "SELECT md5(string_agg(seq || ':' || id || ':' || type || ':' || at || ':' || "
                "coalesce(payload, ''), E'\\n' ORDER BY seq)) FROM events WHERE incident_id = %s",
                [incident_id],
            ).fetchone()[0]
            if theirs != digest:
                conn.rollback()
                raise MigrationError(
                    f"incident {incident_id}'s log differs after the copy; nothing was committed."
                )
        conn.commit()


def _target_count(conn: Any, name: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])  # noqa: S608


def _log_digests(src: sqlite3.Connection) -> dict[str, str]:
    """Each incident's log as PostgreSQL's check computes it: the md5 of its lines in seq order,
    joined by newlines (read as a stream: a large file is never held in memory)."""
    digests: dict[str, Any] = {}
    rows = src.execute(
        "SELECT incident_id, seq, id, type, at, coalesce(payload, '') FROM events "
        "ORDER BY incident_id, seq"
    )
    for incident_id, seq, id_, type_, at, payload in rows:
        digest = digests.get(incident_id)
        line = f"{seq}:{id_}:{type_}:{at}:{payload}"
        if digest is None:
            digest = digests[incident_id] = hashlib.md5()  # noqa: S324 (a checksum)
        else:
            line = "\n" + line
        digest.update(line.encode())
    return {incident_id: digest.hexdigest() for incident_id, digest in digests.items()}
