"""A hub's database of either kind, for behaviour tests that must hold on both (#22).

A module that imports :func:`hub_db` runs each test that asks for it twice: on a SQLite file and
on a fresh database of the test process's real PostgreSQL server (``tests/postgres.py``).
:func:`rows` reads either, as a test checks what the hub stored.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from warroom.hub.storage_api import is_postgres


@pytest.fixture(params=["sqlite", "postgres"])
def hub_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where the hub keeps its record: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "hub.db"
    return str(request.getfixturevalue("pg_url"))


def rows(db: Path | str, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """What ``sql`` (``?`` placeholders) reads from the hub's database, outside the hub."""
    if is_postgres(db):
        import psycopg

        with psycopg.connect(str(db)) as conn:
            return list(conn.execute(sql.replace("?", "%s"), list(args)).fetchall())
    with contextlib.closing(sqlite3.connect(str(db))) as conn:
        return list(conn.execute(sql, list(args)).fetchall())


def count(db: Path | str, table: str) -> int:
    """Rows in ``table`` of the hub's database."""
    return int(rows(db, f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608
