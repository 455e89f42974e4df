"""Who delivers a published update to a webhook target when several hubs share one database.

The hub that stores an ``update_published`` event delivers it, and any hub that starts resumes
the deliveries that have no recorded outcome. With several hubs on one PostgreSQL database, a
hub starting while another is posting would post the same update again. So before it posts, a
hub claims the delivery: a row per (update, target) in ``webhook_deliveries``, locked with
``SELECT ... FOR UPDATE SKIP LOCKED`` in a transaction held open while it posts and records the
outcome. Another hub skips a row that is locked (someone is delivering it) or done (delivered;
a failed delivery stays open for a retry by hand). A hub that
dies mid-post loses its transaction, and with it the lock: the next hub to resume deliveries
takes the row over.

On SQLite there is one hub per file: every delivery is its own (:class:`SoleDeliverer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("warroom.webhooks")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS webhook_deliveries (update_id TEXT NOT NULL, "
    "target TEXT NOT NULL, done BOOLEAN NOT NULL DEFAULT false, PRIMARY KEY (update_id, target))"
)


@dataclass
class Claim:
    """One delivery's claim: whether it is this hub's, and (set by the deliverer) whether the
    target took it. Only a delivered claim is marked done: a failed one may be retried by hand."""

    mine: bool
    delivered: bool = False


class DeliveryClaims(Protocol):
    def hold(self, update_id: str, target: str) -> contextlib.AbstractAsyncContextManager[Claim]:
        """While the context is open, the claim on delivering (update, target) now."""
        ...


class SoleDeliverer:
    """One hub per database: every delivery is this hub's."""

    @contextlib.asynccontextmanager
    async def hold(self, update_id: str, target: str) -> AsyncIterator[Claim]:
        yield Claim(mine=True)


class SharedDeliveries:
    """Claims in PostgreSQL, one connection per delivery in flight (see the module doc)."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextlib.asynccontextmanager
    async def hold(self, update_id: str, target: str) -> AsyncIterator[Claim]:
        import psycopg

        # The table is made with the store's (``PgStore``), under its schema lock.
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            key = [update_id, target]
            await conn.execute(
                "INSERT INTO webhook_deliveries (update_id, target) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                key,
            )
            async with conn.transaction():
                cursor = await conn.execute(
                    "SELECT done FROM webhook_deliveries WHERE update_id = %s AND target = %s "
                    "FOR UPDATE SKIP LOCKED",
                    key,
                )
                row = await cursor.fetchone()
                claim = Claim(mine=row is not None and not row[0])
                if not claim.mine:
                    log.info("delivery of %s to %s is another hub's (or done)", update_id, target)
                yield claim
                if claim.delivered:
                    await conn.execute(
                        "UPDATE webhook_deliveries SET done = true "
                        "WHERE update_id = %s AND target = %s",
                        key,
                    )


def claims_for(db: object) -> DeliveryClaims:
    """The claims a hub on ``db`` uses: shared on PostgreSQL, its own on a SQLite file."""
    from warroom.hub.storage_api import is_postgres

    return SharedDeliveries(str(db)) if is_postgres(str(db)) else SoleDeliverer()


#: Seconds between two looks, on a shared database, for deliveries nobody is making (their hub
#: died mid-post): each is then claimed and made by one of the hubs still running.
RESUME_EVERY = 30.0


async def resume_orphans(resume: Callable[[], None], every: float | None = None) -> None:
    """Call ``resume`` (the dispatcher's resume of deliveries without an outcome) every
    ``every`` seconds: the claims make sure only deliveries nobody holds are made again."""
    while True:
        await asyncio.sleep(RESUME_EVERY if every is None else every)
        try:
            resume()
        except Exception:  # a bug here must not stop the hub
            log.exception("resuming webhook deliveries failed")
