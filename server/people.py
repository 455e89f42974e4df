"""The team's personal tokens: a name the hub can prove.

``warroom people add NAME`` (run on the hub's host, against its database) makes a token for one
person and prints it once. The hub keeps only its SHA-256 digest, in a ``people`` table of its own
database: the token is 256 random bits, so the digest cannot be reversed by guessing, and a
stolen database does not let anyone in. A connection that presents a personal token is that
person, and can speak only under that name; nobody else can use the name, whatever shared token
or join code they hold.

``warroom people revoke NAME`` ends a token at once: the hub checks the table on every handshake
and every second for connections already open, and cuts those off. It ends the token, not the
name: nobody else may use a revoked person's name, and a hub that has registered people stays
closed to consoles without a credential even when every token is revoked.

The registry opens its own SQLite connection (the hub's writer has its own), so the CLI can add or
revoke people while the hub runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warroom.core.names import BadName, check_name, confusable_with

#: What every personal token starts with, so one found in a file or a paste is recognisable.
TOKEN_PREFIX = "wrp_"
#: Compared against when no person is registered, so a wrong token costs the same either way.
_DUMMY = hashlib.sha256(b"warroom-no-such-person").hexdigest()


class PeopleError(ValueError):
    """A request the registry refuses; the message says why."""


@dataclass(frozen=True)
class Person:
    name: str
    digest: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class People:
    """The ``people`` table of a hub's database."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS people (name TEXT PRIMARY KEY, digest TEXT NOT NULL, "
            "created_at TEXT NOT NULL, revoked_at TEXT)"
        )

    def close(self) -> None:
        self.db.close()

    # --- managing (the CLI) -------------------------------------------------------------------
    def add(self, raw_name: str) -> tuple[str, str]:
        """Register ``raw_name``; returns ``(name, token)``. The token is never stored."""
        try:
            name = check_name(raw_name)
        except BadName as exc:
            raise PeopleError(str(exc)) from None
        existing = {p.name: p for p in self.all()}
        if name in existing and existing[name].active:
            raise PeopleError(
                f"{name} already has a token; revoke it first (warroom people revoke {name})."
            )
        # Against everyone ever registered: a revoked person's name stays theirs (see names()).
        other = confusable_with(name, [p.name for p in existing.values() if p.name != name])
        if other is not None:
            raise PeopleError(f"{name!r} looks like {other!r}, who is already registered.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.execute(
            "INSERT INTO people (name, digest, created_at, revoked_at) VALUES (?, ?, ?, NULL) "
            "ON CONFLICT(name) DO UPDATE SET digest = excluded.digest, "
            "created_at = excluded.created_at, revoked_at = NULL",
            [name, digest_of(token), now],
        )
        return name, token

    def revoke(self, raw_name: str) -> str:
        name = raw_name.strip()
        with contextlib.suppress(BadName):
            name = check_name(raw_name)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        cursor = self.db.execute(
            "UPDATE people SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", [now, name]
        )
        if cursor.rowcount == 0:
            raise PeopleError(f"Nobody called {name!r} has a live token on this hub.")
        return name

    def all(self) -> list[Person]:
        rows = self.db.execute(
            "SELECT name, digest, created_at, revoked_at FROM people ORDER BY name"
        ).fetchall()
        return [Person(*row) for row in rows]

    # --- checking (the hub) -------------------------------------------------------------------
    def active(self) -> dict[str, str]:
        """Registered name -> digest of their live token."""
        rows = self.db.execute("SELECT name, digest FROM people WHERE revoked_at IS NULL")
        return dict(rows.fetchall())

    def names(self) -> set[str]:
        """Everyone ever registered, revoked or not. Revoking ends a token, not a name: the
        record says that person did what they did, so nobody else may speak under the name
        (or one like it) afterwards, and a hub that has people is never open again."""
        return {row[0] for row in self.db.execute("SELECT name FROM people").fetchall()}

    def match(self, presented: str) -> str | None:
        return match_person(presented, self.active())


def match_person(presented: str, active: dict[str, str]) -> str | None:
    """The person whose live token ``presented`` is, compared in constant time, else None."""
    wanted = digest_of(presented).encode()
    found = None
    for name, digest in (active or {"": _DUMMY}).items():
        if hmac.compare_digest(wanted, digest.encode()) and found is None and name:
            found = name
    return found


def anyone_registered(path: str | Path) -> bool:
    """Whether the database at ``path`` has a live personal token (read only; writes nothing)."""
    if str(path) == ":memory:" or not Path(path).is_file():
        return False
    try:
        db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT count(*) FROM people WHERE revoked_at IS NULL").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return bool(row and row[0])
