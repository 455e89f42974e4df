"""Where an export reads the log from: the hub's database file, a live hub, or a console's copy.

Every source yields the same stored events in ``seq`` order, so an export over the protocol
equals an export from the file. Sources stream: the file is read in batches and a hub is read a
``history`` page at a time, so reading a long incident never holds its whole log in memory.
Reading over the protocol joins without presence, so exporting leaves no trace in the record.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from warroom.core.events import EventBase
from warroom.core.log import EventError, parse_event
from warroom.core.protocol import HISTORY_LIMIT, PROTOCOL_VERSION, Hello, History, Join
from warroom.core.roles import Role

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

# httpx and websockets are imported by ``HubSource`` when it is used: an export from the hub's
# file (the common case) does not pay for them at start-up (issue 24).

#: Events read from the hub's file per query.
BATCH = 2000


class ExportSourceError(RuntimeError):
    """The source cannot be read; the message says why, in words a responder can act on."""


class Source(Protocol):
    """What the exporter, the postmortem and ``warroom comms preview`` read from."""

    def incident_ids(self) -> list[str]: ...
    def count(self, incident_id: str) -> int: ...
    def events(self, incident_id: str) -> Iterable[EventBase]: ...
    def close(self) -> None: ...


class DatabaseSource:
    """The hub's own SQLite file, read directly while the hub may keep running.

    Read through the hub's storage code (:class:`warroom.hub.storage.LogReader`), so the export
    reads the log exactly as the hub does. The file is only read: nothing is created or changed
    in it, and a file that is not a hub database is refused rather than written to.
    """

    def __init__(self, path: str | Path) -> None:
        from warroom.hub.storage import LogReader

        self.path = Path(path)
        if not self.path.is_file():
            raise ExportSourceError(f"No hub database at {self.path}.")
        self.reader = LogReader.read_only(self.path)
        try:
            columns = {row[1] for row in self.reader.db.execute("PRAGMA table_info(events)")}
        except sqlite3.DatabaseError as exc:
            self.reader.close()
            raise ExportSourceError(f"{self.path} is not a SQLite database ({exc}).") from exc
        if not {"incident_id", "seq", "id", "type", "at", "actor", "role", "payload"} <= columns:
            self.reader.close()
            raise ExportSourceError(
                f"{self.path} is not a warroom hub database (it has no event log)."
            )

    def incident_ids(self) -> list[str]:
        return self.reader.incident_ids()

    def count(self, incident_id: str) -> int:
        return int(self.reader.count(incident_id))

    def events(self, incident_id: str) -> Iterator[EventBase]:
        """The incident's events in ``seq`` order, ``BATCH`` rows per query."""
        return self.reader.events(incident_id, batch=BATCH)

    def stored_events(self, incident_id: str) -> Iterator[tuple[EventBase, tuple[Any, ...]]]:
        """:meth:`events`, each with its row as the hub stored it.

        The hub stores an event as the export's ``events`` table holds it (the envelope in
        columns, the event's own fields in compact JSON), so the exporter copies the row instead
        of serialising every event again: that was a quarter of the export's time (issue 24).
        """
        from warroom.hub.storage import EVENT_COLUMNS, row_event

        query = f"SELECT {EVENT_COLUMNS} FROM events WHERE incident_id = ? AND seq > ? "
        last = 0
        while rows := self.reader.db.execute(
            query + "ORDER BY seq LIMIT ?", [incident_id, last, BATCH]
        ).fetchall():
            yield from ((row_event(row), tuple(row)) for row in rows)
            last = rows[-1][1]

    def close(self) -> None:
        self.reader.close()


class HubSource:
    """A live hub: the list from ``GET /incidents``, each log read over the websocket.

    It joins without presence (the hub answers with a snapshot and its tail, which it skips),
    then asks for the log ``history`` page by page from the first event up to the head it was
    told on joining, so a long log streams through in constant memory.
    """

    def __init__(self, url: str, token: str | None = None, cafile: str | None = None) -> None:
        self.url = url
        self.token = token
        self.cafile = cafile
        self._heads: dict[str, int] = {}

    def incident_ids(self) -> list[str]:
        rows = self._list()
        self._heads = {str(r["id"]): int(str(r.get("head") or 0)) for r in rows}
        return sorted(self._heads)

    def count(self, incident_id: str) -> int:
        """The incident's length when it was listed (a live incident may have grown since)."""
        if incident_id not in self._heads:
            self.incident_ids()
        return self._heads.get(incident_id, 0)

    def _list(self) -> list[dict[str, object]]:
        import httpx

        from warroom.client.urls import auth_headers, client_ssl, http_base

        try:
            response = httpx.get(
                http_base(self.url) + "/incidents",
                params={"all": "1"},
                headers=auth_headers(self.token),
                verify=client_ssl(self.url, self.cafile) or True,
                timeout=10,
            )
        except httpx.HTTPError as exc:
            raise ExportSourceError(f"Cannot reach the hub at {self.url} ({exc}).") from exc
        if response.status_code != 200:
            raise ExportSourceError(_refusal(response.status_code, response.text))
        return list(response.json())

    def events(self, incident_id: str) -> Iterator[EventBase]:
        from websockets.exceptions import InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        from warroom.client.urls import auth_headers, client_ssl

        try:
            with connect(
                self.url,
                additional_headers=auth_headers(self.token),
                ssl=client_ssl(self.url, self.cafile),
                max_size=None,
                open_timeout=10,
            ) as ws:
                hello = Hello(name="export", role=Role.OBSERVER, protocol=PROTOCOL_VERSION)
                ws.send(hello.model_dump_json())
                ws.send(Join(incident=incident_id, since=0, presence=False).model_dump_json())
                head = _head_on_joining(ws)
                start = 1
                while start <= head:
                    before = min(start + HISTORY_LIMIT, head + 1)
                    ask = History(incident=incident_id, before=before, limit=before - start)
                    ws.send(ask.model_dump_json())
                    page = _answer(ws, "history_page")
                    for data in page["events"]:
                        yield parse_event(data)
                    start = before
                return
        except InvalidStatus as exc:
            response = exc.response
            raise ExportSourceError(
                _refusal(response.status_code, response.body.decode(errors="replace"))
            ) from exc
        except (OSError, WebSocketException, EventError) as exc:
            raise ExportSourceError(
                f"Reading {incident_id} from {self.url} failed ({exc})."
            ) from exc

    def close(self) -> None:
        self._heads.clear()


def _head_on_joining(ws: ClientConnection) -> int:
    """The incident's head when joined: every frame up to ``synced`` is read and set aside."""
    return int(_answer(ws, "synced")["seq"])


def _answer(ws: ClientConnection, op: str) -> dict[str, Any]:
    """The next frame with ``op`` (others, such as live events, are skipped); an ``error``
    becomes :class:`ExportSourceError`."""
    for raw in ws:
        msg = json.loads(raw)
        if msg.get("op") == op:
            return dict(msg)
        if msg.get("op") == "error":
            raise ExportSourceError(str(msg.get("message")))
    raise ExportSourceError("The hub closed the connection before sending the whole log.")


class LogSource:
    """Events already in memory (a console's copy of its incident's log)."""

    def __init__(self, log: Iterable[EventBase]) -> None:
        self.log = list(log)
        self.incident_id = self.log[0].incident_id if self.log else ""

    def incident_ids(self) -> list[str]:
        return [self.incident_id] if self.log else []

    def count(self, incident_id: str) -> int:
        return len(self.log) if incident_id == self.incident_id else 0

    def events(self, incident_id: str) -> Iterator[EventBase]:
        return iter(self.log if incident_id == self.incident_id else [])

    def close(self) -> None:
        pass


def _refusal(status: int, body: str) -> str:
    try:
        message = json.loads(body).get("message", body)
    except (ValueError, AttributeError):
        message = body
    return f"The hub refused (HTTP {status}): {str(message).strip()}"
