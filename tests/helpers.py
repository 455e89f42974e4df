"""Shared test helpers: real hubs on ephemeral ports, real clients, and a fixed clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from warroom.hub.app import HubConfig, HubServer

from warroom.client.backoff import Backoff
from warroom.client.lobby import declare
from warroom.client.sync import IncidentClient
from warroom.core.clock import ManualClock
from warroom.core.events import EventBase
from warroom.core.log import parse_event

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


#: The fields of a production change (``ActionStarted`` without its token), for tests that
#: need one and do not care which.
ROLLBACK = {
    "kind": "rollback",
    "target": "api",
    "expected": "ok",
    "metric": "5xx",
    "value_before": "12%",
}


#: Tests that bound a time, and the test that loads the machine most (the cluster chaos), share
#: one pytest-xdist worker (``--dist loadgroup`` in tasks.py), so they never run at the same time:
#: a minute of three hubs beside a p99 bound on the other worker made the bound miss.
ONE_AT_A_TIME = pytest.mark.xdist_group("one-at-a-time")


def fast_backoff() -> Backoff:
    return Backoff(base=0.05, cap=0.3)


@contextlib.asynccontextmanager
async def running_hub(
    db: Path, clock: ManualClock | None = None, **config: Any
) -> AsyncIterator[HubServer]:
    """A real hub on 127.0.0.1 with an ephemeral port, stopped afterwards."""
    config.setdefault("timer_interval", 0)
    config.setdefault("port", 0)
    server = HubServer(HubConfig(host="127.0.0.1", db=db, **config), clock=clock or ManualClock(T0))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def declared(
    tmp_path: Path, **config: Any
) -> AsyncIterator[tuple[HubServer, str, ManualClock]]:
    """A real hub whose clock stands at ``T0`` until a test moves it, with an incident ana has
    declared: ``(hub, incident id, clock)``."""
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock, **config) as hub:
        yield hub, await declare_incident(hub.url), clock


async def client(url: str, name: str, role: str, incident: str, **kw: Any) -> IncidentClient:
    c = IncidentClient(url, name, role, incident, backoff=fast_backoff(), **kw)
    c.start()
    await c.wait_synced()
    return c


async def declare_incident(url: str, name: str = "ana", **fields: Any) -> str:
    fields.setdefault("title", "Checkout errors after deploy")
    fields.setdefault("severity", "SEV2")
    return await declare(url, name, **fields)


def make_event(
    type_: str,
    seq: int,
    actor: str = "ana",
    role: str = "ic",
    incident_id: str = "inc-test",
    at: datetime = T0,
    **payload: Any,
) -> EventBase:
    """A stamped event, as the hub would store it, for fold tests."""
    data = {
        "type": type_,
        "id": str(uuid.uuid4()),
        "incident_id": incident_id,
        "seq": seq,
        "at": at.isoformat(),
        "actor": actor,
        "role": role,
    }
    data.update(payload)
    return parse_event(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    """A hub in a subprocess, so crash tests can SIGKILL a real process."""

    def __init__(self, db: Path, port: int | None = None, *extra: str) -> None:
        self.db = db
        self.port = port or free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "warroom",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--db",
                str(self.db),
                *self.extra,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=0.5).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("hub did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    async def terminate(self) -> int:
        """SIGTERM, then wait without blocking the loop (clients must answer the close)."""
        assert self.proc is not None
        self.proc.terminate()
        return await asyncio.to_thread(self.proc.wait, 15)


async def eventually(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> None:
    """Wait until ``predicate()`` is true (for things that arrive over the network)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def recv_json(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame on the raw websocket ``ws``, decoded."""
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws: Any, op: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame on ``ws`` whose ``op`` is ``op`` (the ones before it are read and dropped)."""
    while True:
        msg = await recv_json(ws, timeout)
        if msg["op"] == op:
            return msg
