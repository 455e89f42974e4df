"""The outbox on disk: commands typed in a console survive the console.

A console writes its outbox to a file the moment a command is made, before it goes anywhere, and
rewrites it as the hub acknowledges commands; an empty outbox has no file. A console that quits,
crashes or is killed with commands still pending leaves the file behind, and the next console of
the same person on the same incident of the same hub picks it up and sends those commands again
with their original ids (the hub stores a command id once, so a command that did arrive is not
stored twice).

Each running console owns one file and holds an advisory lock on a companion ``.lock`` file for
as long as it runs. On start a console adopts the files of its key whose lock nobody holds (their
console is gone) and leaves alone those of a console still running, so two consoles of one person
never overwrite each other's pending work.

Every write goes to a temporary file in the same directory, is flushed and fsync'd, then renamed
over the old one (and the directory fsync'd): a reader sees the old outbox or the new one, never
half of one. A file that cannot be read anyway (a broken disk, a hand edit) is renamed aside with
``.broken`` appended and reported; it is never sent in part and never crashes the console.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from warroom.core.events import EventBase
from warroom.core.log import EventError, parse_event

try:  # advisory locks are POSIX; elsewhere a console simply does not adopt while others run
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms we ship for
    fcntl = None  # type: ignore[assignment]

#: The file format's version; a file of another version is set aside, not guessed at.
FORMAT = 1


class OutboxSaveError(OSError):
    """The outbox could not be written to disk (disk full, read-only, permissions)."""


@dataclass
class Restored:
    """What a console found on disk when it started."""

    commands: list[EventBase] = field(default_factory=list)
    #: One sentence per file that could not be used, saying where it was put.
    problems: list[str] = field(default_factory=list)


def outbox_key(hub: str, incident: str, name: str) -> str:
    """A file name stem for one person on one incident of one hub: readable, then a digest.

    The readable part is a hint for a person looking in the directory; the digest of the exact
    hub URL, incident id and name keeps two keys apart however their readable parts collide.
    """
    host = urlsplit(hub).netloc or hub
    hint = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{host}_{incident}_{name}").strip("._")[:80]
    digest = hashlib.sha256("\0".join((hub, incident, name)).encode()).hexdigest()[:16]
    return f"{hint or 'outbox'}-{digest}"


class OutboxStore:
    """One console's outbox file, for one person on one incident of one hub."""

    def __init__(self, directory: Path, hub: str, incident: str, name: str) -> None:
        self.directory = directory
        self.hub = hub
        self.incident = incident
        self.name = name
        self.stem = outbox_key(hub, incident, name)
        self.instance = secrets.token_hex(4)
        self.path = directory / f"{self.stem}.{self.instance}.json"
        self._lock_path = directory / f"{self.stem}.{self.instance}.lock"
        self._lock: IO[bytes] | None = None
        self._closed = False

    # --- starting -----------------------------------------------------------------------------
    def open(self) -> Restored:
        """Take this console's lock and adopt what consoles no longer running left behind.

        Raises :class:`OutboxSaveError` if the directory cannot be used at all.
        """
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock = _take_lock(self._lock_path)
        except OSError as exc:
            raise OutboxSaveError(f"cannot use {self.directory}: {exc.strerror or exc}") from exc
        if self._lock is None:  # a fresh random name, yet locked: leave it to its owner
            raise OutboxSaveError(f"{self._lock_path} is locked by another console")
        restored = Restored()
        adopted: list[tuple[Path, IO[bytes]]] = []
        seen: set[object] = set()
        for instance in self._orphans():
            lock_path = self.directory / f"{self.stem}.{instance}.lock"
            try:
                lock = _take_lock(lock_path)
            except OSError:
                continue
            if lock is None:
                continue  # its console is still running: its commands are its own
            adopted.append((lock_path, lock))
            path = self.directory / f"{self.stem}.{instance}.json"
            try:
                commands = self._read(path)
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:
                restored.problems.append(self._set_aside(path, exc))
                continue
            for command in commands:
                if command.id not in seen:
                    seen.add(command.id)
                    restored.commands.append(command)
        if restored.commands:
            try:
                self.save(restored.commands)  # ours now, durably, before the old files go
            except OutboxSaveError as exc:
                # They are still sent from memory; the old files stay for the next console.
                restored.problems.append(str(exc))
                for _, lock in adopted:
                    lock.close()
                return restored
        for lock_path, lock in adopted:
            instance = lock_path.name[len(self.stem) + 1 : -len(".lock")]
            for leftover in self.directory.glob(f"{self.stem}.{instance}.json*"):
                if not leftover.name.endswith(".broken"):
                    with contextlib.suppress(OSError):
                        leftover.unlink()
            with contextlib.suppress(OSError):
                lock_path.unlink()
            lock.close()
        return restored

    def _orphans(self) -> list[str]:
        """Instances of this key other than ours, oldest outbox first."""
        found: dict[str, float] = {}
        for path in self.directory.glob(f"{self.stem}.*"):
            rest = path.name[len(self.stem) + 1 :]
            instance, _, suffix = rest.partition(".")
            if instance == self.instance or suffix not in ("json", "lock"):
                continue
            with contextlib.suppress(OSError):
                mtime = path.stat().st_mtime
                found[instance] = min(found.get(instance, mtime), mtime)
        return sorted(found, key=lambda i: (found[i], i))

    def _read(self, path: Path) -> list[EventBase]:
        """The commands in ``path``; ``ValueError`` says why a file cannot be trusted."""
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a warroom outbox of format {FORMAT}")
        if (data.get("hub"), data.get("incident"), data.get("name")) != (
            self.hub,
            self.incident,
            self.name,
        ):
            raise ValueError("it belongs to another hub, incident or person")
        raw = data.get("commands")
        if not isinstance(raw, list):
            raise ValueError("it has no list of commands")
        commands = []
        for item in raw:
            if not isinstance(item, dict):
                raise ValueError("a command in it is not an object")
            try:
                command = parse_event(item)
            except EventError as exc:
                raise ValueError(f"a command in it is invalid: {exc}") from exc
            if command.incident_id != self.incident:
                raise ValueError("a command in it is for another incident")
            commands.append(command)
        return commands

    def _set_aside(self, path: Path, why: Exception) -> str:
        aside = path.with_name(path.name + ".broken")
        reason = why.strerror if isinstance(why, OSError) and why.strerror else str(why)
        try:
            os.replace(path, aside)
        except OSError:
            return f"Could not read the saved outbox {path} ({reason}); it was left where it is."
        return (
            f"Could not read the saved outbox {path.name} ({reason}): nothing from it was sent. "
            f"It was set aside as {aside}."
        )

    # --- keeping ------------------------------------------------------------------------------
    def save(self, commands: list[EventBase]) -> None:
        """Make ``commands`` the outbox on disk (no file when empty), atomically and durably."""
        if self._closed:
            return
        try:
            if not commands:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                    _fsync_dir(self.directory)
                return
            body = {
                "format": FORMAT,
                "hub": self.hub,
                "incident": self.incident,
                "name": self.name,
                "commands": [c.command_body() for c in commands],
            }
            _write_atomic(self.path, json.dumps(body, ensure_ascii=False).encode())
        except OSError as exc:
            raise OutboxSaveError(
                f"cannot write {self.path}: {exc.strerror or exc}; pending commands are kept "
                "in memory only"
            ) from exc

    def close(self) -> None:
        """Let go: the file (if any) stays for the next console, the lock is released."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._lock_path.unlink()
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _take_lock(path: Path) -> IO[bytes] | None:
    """An open, exclusively locked handle on ``path`` (created if need be), or ``None`` if held."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "ab")  # held open for as long as the lock is
    if fcntl is None:
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    except OSError:
        handle.close()
        raise
    return handle


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename or an unlink in ``directory`` durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
