"""The alert intake: a small HTTP listener where Alertmanager and Grafana post notifications.

Why a listener of its own rather than a path on the hub's port: the websockets server parses
only handshake requests and refuses any request with a body ("unsupported request body") before
the hub's ``process_request`` hook sees it, so a POST with a JSON body can never reach the hub's
port. The intake therefore listens on ``[intake] port`` (same host, same TLS certificate), and
speaks HTTP/1.1 through ``h11`` (the HTTP/1.1 protocol library httpx is built on) over asyncio
streams: keep-alive, chunked bodies and ``Expect: 100-continue`` are handled by h11, not by hand.

Every request is checked before its body is read: the path and method (404, 405), the intake
credential (401), the declared size (413). The body is then read up to ``max_body`` (413 beyond
it), parsed by the core (400 with a one-line reason), stored in one transaction on a worker thread
and only then answered 200, so the sender retries anything not answered, and a retry stores
nothing twice. A refused request stores nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import h11
from warroom.hub.alert_store import AlertStore, Recorded
from warroom.hub.credentials import bearer
from warroom.hub.intake_config import IntakeConfig, secret_digest

from warroom.core.alerts import (
    BadPayload,
    MalformedJSON,
    Notification,
    parse_alertmanager,
    parse_grafana,
)
from warroom.core.clock import Clock, utc_now

log = logging.getLogger("warroom.hub.intake")

#: Path -> the parser of that sender's payload.
ROUTES: dict[str, Callable[[bytes], Notification]] = {
    "/alerts/alertmanager": parse_alertmanager,
    "/alerts/grafana": parse_grafana,
}
#: Seconds a client has to send a whole request (headers and body), and to idle between requests.
REQUEST_TIMEOUT = 15.0
IDLE_TIMEOUT = 60.0
#: Open connections the intake accepts; beyond that, new ones are closed at once.
MAX_CONNECTIONS = 128
_READ = 64 * 1024
#: After refusing a request whose body is still arriving: how long and how much to drain.
LINGER_SECONDS = 2.0
LINGER_BYTES = 16 * 1024 * 1024
_DUMMY_DIGEST = secret_digest("warroom-no-such-intake-credential")


class IntakeListenError(OSError):
    """The intake's port cannot be bound; the message names the port and the setting."""

    def __str__(self) -> str:
        return str(self.strerror)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    close: bool = False
    headers: tuple[tuple[str, str], ...] = ()


def _error(status: int, error: str, message: str, close: bool = False, **extra: str) -> Answer:
    headers = tuple((k.replace("_", "-"), v) for k, v in extra.items())
    return Answer(status, {"error": error, "message": message}, close, headers)


async def _linger(reader: asyncio.StreamReader) -> None:
    """Read and drop what the client still sends, briefly and boundedly, before closing."""
    dropped = 0
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(LINGER_SECONDS):
            while dropped < LINGER_BYTES:
                chunk = await reader.read(_READ)
                if not chunk:
                    return
                dropped += len(chunk)


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def match_credential(presented: str, digests: dict[str, str]) -> str | None:
    """The name of the intake credential ``presented`` is, compared in constant time."""
    wanted = secret_digest(presented).encode()
    found = None
    for name, digest in (digests or {"": _DUMMY_DIGEST}).items():
        if hmac.compare_digest(wanted, digest.encode()) and found is None and name:
            found = name
    return found


class IntakeServer:
    """The listener, its routes and its connections."""

    def __init__(
        self,
        config: IntakeConfig,
        store: AlertStore,
        host: str,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.config = config
        self.store = store
        self.host = host
        self.ssl = ssl_context
        self.clock = clock
        self.port = config.port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: Told of each stored notification, on the loop (the hub puts news on timelines).
        self.on_recorded: Callable[[Recorded], None] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._accept, self.host, self.config.port, ssl=self.ssl, limit=_READ
            )
        except OSError as exc:
            raise IntakeListenError(
                exc.errno,
                f"the alert intake cannot listen on {self.host}:{self.config.port} "
                f"([intake] port): {exc.strerror or exc}",
            ) from exc
        sockets = self._server.sockets
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._tasks) >= MAX_CONNECTIONS or task is None:
            writer.close()
            return
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except Exception:  # one bad connection must never take the hub down
            log.exception("intake connection failed")
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_READ)
        while True:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT):
                    event = await self._next(conn, reader)
                if isinstance(event, h11.ConnectionClosed):
                    return
                assert isinstance(event, h11.Request)
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    answer = await self._handle(conn, event, reader, writer)
            except h11.RemoteProtocolError as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    status = exc.error_status_hint
                    message = "That is not an HTTP/1.1 request this intake understands."
                    await self._send(conn, writer, _error(status, "bad_request", message, True))
                return
            await self._send(conn, writer, answer)
            if conn.their_state is not h11.DONE:
                # Refused before its body was read: closing now, with the body still arriving,
                # would reset the connection and the sender might never read the answer.
                await _linger(reader)
                return
            if answer.close or conn.our_state is not h11.DONE:
                return
            conn.start_next_cycle()

    async def _next(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(_READ))
                continue
            return event

    async def _handle(
        self,
        conn: h11.Connection,
        request: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> Answer:
        path = request.target.decode("ascii", "replace").partition("?")[0]
        parse = ROUTES.get(path)
        if parse is None:
            paths = " or ".join(ROUTES)
            return _error(404, "not_found", f"No such path {path}; post to {paths}.", True)
        if request.method != b"POST":
            return _error(405, "method_not_allowed", f"{path} takes POST.", True, Allow="POST")
        headers = {k.decode("latin-1").title(): v.decode("latin-1") for k, v in request.headers}
        presented = bearer(headers)
        name = match_credential(presented, self.config.credentials) if presented else None
        if name is None:
            return _error(
                401,
                "unauthorized",
                "This intake needs an intake credential ('Authorization: Bearer <secret>').",
                True,
                WWW_Authenticate='Bearer realm="warroom-intake"',
            )
        limit = self.config.max_body
        declared = headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            return _error(413, "too_large", f"The body is over {limit} bytes.", True)
        if conn.they_are_waiting_for_100_continue:
            await self._write(conn, writer, h11.InformationalResponse(status_code=100, headers=[]))
        body = bytearray()
        while True:
            event = await self._next(conn, reader)
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > limit:
                    return _error(413, "too_large", f"The body is over {limit} bytes.", True)
            elif isinstance(event, h11.EndOfMessage):
                break
            else:  # the client went away mid-body
                return _error(400, "bad_request", "The body ended early.", True)
        received_at = self.clock()

        def parse_and_store() -> tuple[Notification, Recorded]:
            notification = parse(bytes(body))
            return notification, self.store.record(notification, received_at)

        try:
            # Parsing a large body and a commit (with fsync) must not stall the hub's loop, where
            # consoles are served: both run on a worker thread.
            notification, recorded = await asyncio.to_thread(parse_and_store)
        except MalformedJSON as exc:
            return _error(400, "malformed_json", str(exc))
        except BadPayload as exc:
            return _error(400, "bad_payload", str(exc))
        except Exception:
            log.exception("could not store an alert notification from %s", name)
            return _error(503, "unavailable", "The hub could not store it; send it again.")
        if self.on_recorded is not None and recorded.changes:
            try:
                self.on_recorded(recorded)
            except Exception:  # stored and answered all the same: the sender must not retry
                log.exception("could not pass on the news of group %s", recorded.group_id)
        log.info(
            "%s notification for group %s from intake credential %r: %d new state change(s)",
            notification.source,
            recorded.group_id,
            name,
            recorded.changes,
        )
        return Answer(200, {"status": "ok", "group": recorded.group_id, "new": recorded.changes})

    async def _send(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, answer: Answer
    ) -> None:
        data = (json.dumps(answer.body) + "\n").encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *answer.headers,
        ]
        if answer.close:
            headers.append(("Connection", "close"))
        await self._write(
            conn,
            writer,
            h11.Response(status_code=answer.status, headers=headers, reason=_reason(answer.status)),
        )
        await self._write(conn, writer, h11.Data(data=data))
        await self._write(conn, writer, h11.EndOfMessage())

    @staticmethod
    async def _write(conn: h11.Connection, writer: asyncio.StreamWriter, event: Any) -> None:
        data = conn.send(event)
        if data:
            writer.write(data)
            await writer.drain()
