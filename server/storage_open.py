"""Opening what a hub's ``--db`` names, SQLite file or PostgreSQL URL, and saying in one line
why it cannot be used. psycopg is imported only for a PostgreSQL URL (it is an extra:
``pip install 'warroom[postgres]'``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from warroom.hub.dbfile import DatabaseUnusable, explain
from warroom.hub.people import People, anyone_registered
from warroom.hub.storage_api import is_postgres


def database_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean "this database cannot be used" (not a bug of the hub)."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
    try:
        import psycopg
    except ImportError:
        return errors
    return (*errors, psycopg.Error)


def open_people(db: str | Path) -> People:
    """The personal tokens' registry in the database ``db`` names."""
    if is_postgres(db):
        from warroom.hub.storage_pg import PgPeople

        return PgPeople(str(db))
    return People(db)


def registered_anyone(db: str | Path) -> bool:
    """Whether ``db`` holds a live personal token (reads only)."""
    if not is_postgres(db):
        return anyone_registered(db)
    try:
        people = open_people(db)
    except database_errors():
        return False
    try:
        return bool(people.active())
    finally:
        people.close()


def describe_failure(db: str | Path, exc: BaseException) -> BaseException:
    """A one-line :class:`DatabaseUnusable` for a database error; any other error unchanged."""
    if not isinstance(exc, database_errors()):
        return exc
    if is_postgres(db):
        from warroom.hub.storage_pg import shown

        text = " ".join(str(exc).split())[:300] or type(exc).__name__
        if isinstance(exc, ImportError):
            text = "psycopg is not installed (pip install 'warroom[postgres]')"
        return DatabaseUnusable(f"{shown(str(db))} cannot be used: {text}.")
    return explain(Path(db), exc)
