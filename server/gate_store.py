"""Gate credentials: one per pipeline, able to check and report changes and nothing else.

``warroom gate add NAME`` (on the hub's host, against its database) makes a credential and prints
it once; the hub keeps only its SHA-256 digest, in a ``gate_credentials`` table of its own
database, as it does for personal tokens (server/people.py). A gate credential never opens a
websocket and is refused by every other endpoint; a person's token is refused by the gate.
``warroom gate revoke NAME`` ends one at once: the table is read on every check.

The table is in the hub's database, SQLite file or PostgreSQL (``server/storage_sql.py``): on
PostgreSQL a credential added once is known to every hub sharing the database, and revoked at
every hub at once.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warroom.hub.people import digest_of
from warroom.hub.storage_api import is_postgres
from warroom.hub.storage_sql import PgSql, Sql, open_sql

from warroom.core.gate import GATE_NAME_PATTERN

#: What every gate credential starts with, so one found in a CI log is recognisable.
GATE_PREFIX = "wrg_"
_DUMMY = digest_of("warroom-no-such-gate-credential")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS gate_credentials (name TEXT PRIMARY KEY, digest TEXT NOT NULL, "
    "created_at TEXT NOT NULL, revoked_at TEXT)"
)


class GateCredentialError(ValueError):
    """A request the gate's registry refuses; the message says why."""


class GateCredentials:
    """The ``gate_credentials`` table of a hub's database (a SQLite file or a PostgreSQL URL).
    On a SQLite file each use opens its own short connection (checks are rare: a step or two of
    a pipeline), so the hub holds nothing open for it and the CLI can add or revoke while the
    hub runs. On PostgreSQL one connection is kept (and reopened if the server dropped it):
    opening one is a network and authentication round trip the hub's loop would wait for."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._created = False
        self._kept: Sql | None = PgSql(self.path) if is_postgres(self.path) else None

    def _run(self, sql: str, args: Sequence[str] = ()) -> tuple[int, list[Any]]:
        """``(rows changed, rows read)`` of one autocommit statement."""
        with contextlib.ExitStack() as stack:
            db = self._kept or stack.enter_context(contextlib.closing(open_sql(self.path)))
            if not self._created:
                db.ensure([_SCHEMA])
                self._created = True
            cursor = db.execute(sql, list(args))
            rows = cursor.fetchall() if cursor.description else []
            return cursor.rowcount, rows

    def close(self) -> None:
        if self._kept is not None:
            self._kept.close()

    def add(self, name: str) -> str:
        """A new credential for pipeline ``name``; returned once, stored as its digest."""
        if not re.match(GATE_NAME_PATTERN, name):
            raise GateCredentialError(
                f"{name!r}: name a gate credential after its pipeline, like deploy-prod "
                "(lower-case letters, digits, - and _, up to 40)."
            )
        _, live = self._run(
            "SELECT 1 FROM gate_credentials WHERE name = ? AND revoked_at IS NULL", [name]
        )
        if live:
            raise GateCredentialError(
                f"{name} has a live credential; revoke it first (warroom gate revoke {name})."
            )
        secret = GATE_PREFIX + secrets.token_urlsafe(32)
        self._run(
            "INSERT INTO gate_credentials (name, digest, created_at, revoked_at) "
            "VALUES (?, ?, ?, NULL) ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, "
            "created_at = excluded.created_at, revoked_at = NULL",
            [name, digest_of(secret), _now()],
        )
        return secret

    def revoke(self, name: str) -> None:
        changed, _ = self._run(
            "UPDATE gate_credentials SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            [_now(), name],
        )
        if changed == 0:
            raise GateCredentialError(f"No live gate credential called {name!r} on this hub.")

    def listing(self) -> list[tuple[str, str, str | None]]:
        """``(name, created_at, revoked_at)`` of every credential, by name."""
        return self._run("SELECT name, created_at, revoked_at FROM gate_credentials ORDER BY name")[
            1
        ]

    def match(self, presented: str) -> str | None:
        """The name of the live credential ``presented`` is, compared in constant time."""
        _, rows = self._run("SELECT name, digest FROM gate_credentials WHERE revoked_at IS NULL")
        wanted = digest_of(presented).encode()
        found = None
        for name, digest in rows or [("", _DUMMY)]:
            if hmac.compare_digest(wanted, digest.encode()) and name:
                found = found or name
        return found


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
