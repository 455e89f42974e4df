"""The hub's claim on its database file: one hub per file, and a clear word when it cannot be used.

Two hubs on one SQLite file would each believe they own the incident logs: the second writes
rows the first never sees (its next write then fails on a duplicate seq), or both serve and
accept commands (split brain). So before it opens the database a hub takes an exclusive
``flock`` on ``<db>.lock`` beside it, and keeps it until it stops. The lock file says who holds
it (pid, host, address), so the second hub can say whom to look for. The kernel drops the lock
when the process dies, however it dies: a crashed hub never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sqlite3
from pathlib import Path


class DatabaseUnusable(Exception):
    """The hub cannot use its database; the message is one line naming the file and why."""

    #: ``warroom serve`` exits with this (see README, "Exit codes").
    exit_code = 3


class DatabaseInUse(DatabaseUnusable):
    """Another hub holds the database's lock."""

    exit_code = 4
    #: What the lock file says about the holder: "pid N on HOST, listening on URL".
    holder: str = ""

    @property
    def url(self) -> str | None:
        """The holder's address, if it has bound one."""
        _, found, url = self.holder.partition("listening on ")
        return url.strip() if found else None


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


class DatabaseLock:
    """An exclusive, non-blocking lock on ``<db>.lock``, held for the life of a hub."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.path = lock_path(db)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`DatabaseInUse` (naming the holder) at once."""
        if self.db.is_dir():
            raise DatabaseUnusable(f"{self.db} is a directory, not a database file.")
        try:
            self.db.parent.mkdir(parents=True, exist_ok=True)
            # No O_TRUNC: the holder's details must survive a failed attempt to read them.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DatabaseUnusable(
                f"{self.db} cannot be used: the hub cannot create its lock file {self.path} "
                f"({exc.strerror}); the hub needs to write in the database's directory."
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            error = DatabaseInUse(
                f"{self.db} is in use by another hub ({holder}); stop that hub first, "
                "or give this one another --db."
            )
            error.holder = holder
            raise error from None
        except OSError as exc:
            os.close(fd)
            raise DatabaseUnusable(f"{self.db}: cannot lock {self.path}: {exc.strerror}.") from exc
        self._fd = fd
        self.describe()

    def describe(self, address: str = "") -> None:
        """Write who holds the lock (called again once the hub knows its address)."""
        if self._fd is None:
            return
        where = f", listening on {address}" if address else ""
        text = f"pid {os.getpid()} on {socket.gethostname()}{where}\n"
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text.encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the flock

    def __del__(self) -> None:
        # A hub object dropped without stop() (a test, a failed start) must not keep the file.
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 400, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0] if text else "holder unknown"


def explain(db: Path, exc: BaseException) -> DatabaseUnusable:
    """A one-line :class:`DatabaseUnusable` for an error SQLite (or the OS) gave opening ``db``."""
    text = str(exc)
    lower = text.lower()
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in lower:
        problem = "is not a warroom database (not an SQLite file)"
    elif "malformed" in lower or "corrupt" in lower:
        problem = (
            "is damaged (SQLite says: database disk image is malformed); restore it from a backup"
        )
    elif "readonly" in lower or "read-only" in lower or "permission denied" in lower:
        problem = "is read-only for this hub: the hub needs to write the file and its directory"
    elif "database is locked" in lower or "busy" in lower:
        problem = "is locked by another program (an open sqlite3 shell or export?)"
    elif "unable to open" in lower:
        problem = "cannot be opened (missing directory, or no permission)"
    elif "disk" in lower and "full" in lower:
        problem = "cannot be written: the disk is full"
    else:
        problem = f"cannot be used: {text}"
    return DatabaseUnusable(f"{db} {problem}.")
