"""Which hubs are live on the same database, for ``/healthz`` (#22).

On PostgreSQL each hub keeps a row in ``hubs`` (its id, address, host, start time) and renews its
``last_seen`` every third of the lease. A hub whose row was renewed within the lease is live;
one that was killed stops renewing and drops out of the others' lists once the lease has passed
(a hub that stops cleanly deletes its row at once). Times are the database's own clock
(``now()``), so hubs whose clocks disagree still agree on who is live. The list served by
``/healthz`` is the one read at the last renewal: answering it never waits for the database.

A SQLite file belongs to one hub: it has no peers (:class:`NoPeers`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from warroom.hub.storage_api import is_postgres
from warroom.hub.storage_sql import PgSql

log = logging.getLogger("warroom.hub")

#: Seconds a hub stays listed after its last renewal (``[hub] peer_lease``).
DEFAULT_LEASE = 15.0

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hubs (id TEXT PRIMARY KEY, address TEXT NOT NULL, "
    "host TEXT NOT NULL, started_at TEXT NOT NULL, last_seen TIMESTAMPTZ NOT NULL)",
)


def new_hub_id() -> str:
    """A name for this hub process: its host and a few random characters (two hubs on one host
    differ), readable in ``/healthz`` and logs."""
    return f"{socket.gethostname()}-{secrets.token_hex(3)}"


class Peers(Protocol):
    """This hub's presence on its database, and the other live hubs there."""

    hub_id: str

    async def start(self, address: str) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> dict[str, Any]:
        """The ``/healthz`` fields: ``storage``, ``hub_id``, ``peers`` (and ``peer_lease``)."""
        ...


class NoPeers:
    """A hub on its own SQLite file: nobody else writes to it."""

    def __init__(self) -> None:
        self.hub_id = new_hub_id()

    async def start(self, address: str) -> None:
        """Nothing to announce."""

    async def stop(self) -> None:
        """Nothing to withdraw."""

    def health(self) -> dict[str, Any]:
        return {"storage": "sqlite", "hub_id": self.hub_id, "peers": []}


class PgPeers:
    """This hub's row in ``hubs``, renewed every third of ``lease`` seconds."""

    def __init__(self, url: str, lease: float = DEFAULT_LEASE) -> None:
        self.hub_id = new_hub_id()
        self.lease = lease
        self.sql = PgSql(url)
        self.address = ""
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._peers: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._created = False

    async def start(self, address: str) -> None:
        self.address = address
        try:
            await asyncio.to_thread(self.renew)
        except Exception as exc:  # the hub serves all the same; the next renewal tries again
            log.warning("could not record this hub in the hubs table: %s", exc)
        self._task = asyncio.create_task(self._keep_renewing())

    def renew(self) -> None:
        """Renew this hub's row and read the live hubs (blocking: run it on a worker thread)."""
        if not self._created:
            self.sql.ensure(SCHEMA)
            self._created = True
        with self.sql.write() as db:
            db.execute(
                "INSERT INTO hubs (id, address, host, started_at, last_seen) "
                "VALUES (?, ?, ?, ?, now()) ON CONFLICT (id) DO UPDATE SET "
                "address = excluded.address, last_seen = now()",
                [self.hub_id, self.address, socket.gethostname(), self.started_at],
            )
            # Rows of hubs killed long ago are of no use to anyone.
            db.execute("DELETE FROM hubs WHERE last_seen < now() - interval '1 day'")
            rows = db.execute(
                "SELECT id, address, host, started_at, last_seen, "
                "extract(epoch FROM now() - last_seen) FROM hubs "
                "WHERE id <> ? AND last_seen > now() - make_interval(secs => ?) ORDER BY id",
                [self.hub_id, self.lease],
            ).fetchall()
        self._peers = [
            {
                "id": hub_id,
                "address": address,
                "host": host,
                "started_at": started_at,
                "last_seen": last_seen.astimezone(UTC).isoformat(timespec="seconds"),
                "seen_seconds_ago": round(float(age), 1),
            }
            for hub_id, address, host, started_at, last_seen, age in rows
        ]

    async def _keep_renewing(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await asyncio.to_thread(self.renew)
            except Exception as exc:  # the database is away: say so, and try again
                log.warning("could not renew this hub's row in the hubs table: %s", exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await asyncio.to_thread(self._withdraw)
        except Exception as exc:  # the row lapses with its lease anyway
            log.warning("could not remove this hub's row from the hubs table: %s", exc)
        self.sql.close()

    def _withdraw(self) -> None:
        with self.sql.write() as db:
            db.execute("DELETE FROM hubs WHERE id = ?", [self.hub_id])

    def health(self) -> dict[str, Any]:
        return {
            "storage": "postgresql",
            "hub_id": self.hub_id,
            "peer_lease": self.lease,
            "peers": list(self._peers),
        }


def peers_for(db: str | Path, lease: float = DEFAULT_LEASE) -> Peers:
    """The peers of a hub on ``db``: the hubs table on PostgreSQL; none on a SQLite file."""
    return PgPeers(str(db), lease) if is_postgres(db) else NoPeers()
