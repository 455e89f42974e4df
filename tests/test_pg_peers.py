"""``/healthz`` says which hubs are live on the same database (#22).

Real hub processes on one real PostgreSQL database with a short peer lease (``[hub] peer_lease``,
so nothing waits the default 15 seconds): each lists the other; one SIGKILLed drops out of the
other's list once its lease has passed, one stopped cleanly drops out at once. A hub on a SQLite
file says so, with no peers.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import HubProcess, running_hub
from tests.hub_db import rows

LEASE = 1.5


def health(hub: HubProcess) -> dict[str, Any]:
    answer = httpx.get(f"http://127.0.0.1:{hub.port}/healthz", timeout=5)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def peer_ids(hub: HubProcess) -> list[str]:
    return [peer["id"] for peer in health(hub)["peers"]]


def wait_until(check: Any, timeout: float) -> float:
    """Seconds until ``check()`` held (fails the test past ``timeout``)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def short_lease(tmp_path: Path) -> Path:
    config = tmp_path / "hub.toml"
    config.write_text(f"[hub]\npeer_lease = {LEASE}\n")
    return config


def test_live_hubs_list_each_other_and_a_killed_one_leaves_after_its_lease(
    pg_url: str, short_lease: Path
) -> None:
    hubs = [HubProcess(pg_url, None, "--config", str(short_lease)) for _ in range(3)]  # type: ignore[arg-type]
    for hub in hubs:
        hub.start()
    try:
        a, b, c = hubs
        ids = {hub.port: health(hub)["hub_id"] for hub in hubs}
        assert len(set(ids.values())) == 3
        first = health(a)
        assert (first["storage"], first["peer_lease"]) == ("postgresql", LEASE)
        # b and c renew within a third of the lease: a lists both, with their addresses.
        wait_until(lambda: sorted(peer_ids(a)) == sorted([ids[b.port], ids[c.port]]), LEASE * 2)
        listed = {peer["id"]: peer for peer in health(a)["peers"]}
        assert listed[ids[b.port]]["address"] == b.url
        assert listed[ids[b.port]]["seen_seconds_ago"] <= LEASE
        b.kill()  # SIGKILL: b never says goodbye; its row lapses with its lease
        took = wait_until(lambda: ids[b.port] not in peer_ids(a), LEASE * 4)
        assert took > LEASE / 3  # it lapsed; nobody removed it
        # c reads the same table on its own schedule: it drops b within the same lease.
        wait_until(lambda: peer_ids(c) == [ids[a.port]], LEASE * 2)
        # A hub that stops cleanly removes its own row as it stops (a sees it at its next renewal).
        assert asyncio.run(c.terminate()) == 0
        assert ids[c.port] not in [hub_id for (hub_id,) in rows(pg_url, "SELECT id FROM hubs")]
        wait_until(lambda: peer_ids(a) == [], LEASE * 2)
    finally:
        for hub in hubs:
            hub.kill()


async def test_a_hub_on_sqlite_has_no_peers(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "hub.db") as hub, httpx.AsyncClient() as http:
        body = (await http.get(f"http://127.0.0.1:{hub.port}/healthz")).json()
    assert body["storage"] == "sqlite" and body["peers"] == []
    assert body["hub_id"] and body["status"] == "ok"
