"""Where an export reads the log from: the hub's database file, or a live hub over the protocol.

Both yield the same stored events in ``seq`` order, so an export over the protocol equals an export
from the file. Reading over the protocol joins without presence, so exporting leaves no trace in
the record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

from websockets.asyncio.client import connect

from warroom.client.lobby import list_incidents
from warroom.client.urls import auth_headers
from warroom.core.events import EventBase
from warroom.core.log import parse_event
from warroom.core.protocol import Hello, Join
from warroom.core.roles import Role


class ExportSourceError(RuntimeError):
    """The source cannot be read; the message says why."""


class DatabaseSource:
    """The hub's own SQLite file, read directly (the hub may keep running)."""

    def __init__(self, path: str | Path) -> None:
        from server.storage import Store

        if not Path(path).exists():
            raise ExportSourceError(f"No hub database at {path}.")
        self.store = Store(path)

    def incident_ids(self) -> list[str]:
        return self.store.incident_ids()

    def count(self, incident_id: str) -> int:
        return self.store.count(incident_id)

    def events(self, incident_id: str) -> Iterator[EventBase]:
        return self.store.events(incident_id)

    def close(self) -> None:
        self.store.db.conn.close()


class HubSource:
    """A live hub: the log fetched over the websocket protocol, without presence."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token
        self._cache: dict[str, list[EventBase]] = {}

    def incident_ids(self) -> list[str]:
        rows = asyncio.run(list_incidents(self.url, self.token, include_closed=True))
        return [r["id"] for r in rows]

    def count(self, incident_id: str) -> int:
        return len(self._fetch(incident_id))

    def events(self, incident_id: str) -> Iterator[EventBase]:
        return iter(self._fetch(incident_id))

    def _fetch(self, incident_id: str) -> list[EventBase]:
        if incident_id not in self._cache:
            self._cache[incident_id] = asyncio.run(self._read(incident_id))
        return self._cache[incident_id]

    async def _read(self, incident_id: str) -> list[EventBase]:
        events: list[EventBase] = []
        async with connect(
            self.url, additional_headers=auth_headers(self.token), max_size=None, open_timeout=10
        ) as ws:
            await ws.send(Hello(name="export", role=Role.OBSERVER).model_dump_json())
            await ws.send(Join(incident=incident_id, since=0, presence=False).model_dump_json())
            async for raw in ws:
                msg = json.loads(raw)
                if msg["op"] == "event":
                    events.append(parse_event(msg["event"]))
                elif msg["op"] == "synced":
                    return events
                elif msg["op"] == "error":
                    raise ExportSourceError(msg["message"])
        raise ExportSourceError("The hub closed the connection before sending the whole log.")

    def close(self) -> None:
        self._cache.clear()
