"""Running the hub: the websockets server, its HTTP endpoints, authentication and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from warroom.hub.alert_link import AlertLink
from warroom.hub.alert_store import AlertStore
from warroom.hub.credentials import Credential, authenticate
from warroom.hub.dbfile import DatabaseLock
from warroom.hub.gate import gate_request
from warroom.hub.gate_store import GateCredentials
from warroom.hub.hub import Hub, HubLimits, abort_if_open
from warroom.hub.intake import IntakeServer
from warroom.hub.intake_config import IntakeConfig
from warroom.hub.loading import MemoryLimits
from warroom.hub.people import People, match_person
from warroom.hub.runbooks import load_runbooks, runbooks_response
from warroom.hub.runbooks_config import RunbooksConfig
from warroom.hub.state_view import state_view
from warroom.hub.status import StatusPages
from warroom.hub.status_config import StatusConfig
from warroom.hub.storage import DEFAULT_DURABILITY, DURABILITY
from warroom.hub.storage_api import is_postgres, open_store
from warroom.hub.storage_claims import claims_for, resume_orphans
from warroom.hub.storage_follow import follower_for
from warroom.hub.storage_open import (
    database_errors,
    describe_failure,
    open_people,
    registered_anyone,
)
from warroom.hub.storage_peers import DEFAULT_LEASE, peers_for
from warroom.hub.tls import TLSConfigError, server_context
from warroom.hub.webhooks import DeliveryPolicy, WebhookDispatcher, WebhookTarget
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from warroom.core.clock import Clock, utc_now
from warroom.core.protocol import MAX_MESSAGE_BYTES
from warroom.core.settings import HubSettings
from warroom.core.state import IncidentState
from warroom.core.wire_state import state_schema
from warroom.redact import redacted_logger

log = logging.getLogger("warroom.hub")


class HubConfigError(ValueError):
    """A configuration the hub refuses to start with; the message says what to change."""


@dataclass
class HubConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    #: A SQLite file, or a PostgreSQL URL (``postgresql://...``) that several hubs may share.
    db: Path | str = Path("warroom.db")
    #: Named bearer tokens; empty means an open hub, allowed on loopback only.
    tokens: dict[str, str] = field(default_factory=dict, repr=False)  # never in a log line
    max_message: int = MAX_MESSAGE_BYTES
    settings: HubSettings = field(default_factory=HubSettings)
    limits: HubLimits = field(default_factory=HubLimits)
    #: What the hub keeps in memory: checkpoints, frames, ids, closed incidents (loading.py).
    memory: MemoryLimits = field(default_factory=MemoryLimits)
    timer_interval: float = 1.0
    #: Seconds between checks for revoked personal tokens on open connections.
    people_interval: float = 1.0
    insecure: bool = False
    #: PEM certificate (chain) and key: the hub then speaks wss:// (TLS) only.
    certfile: Path | None = None
    keyfile: Path | None = None
    #: ``full`` (fsync every group commit) or ``normal``; see ``server.storage.DURABILITY``.
    durability: str = DEFAULT_DURABILITY
    #: permessage-deflate on the websocket (worth it only over slow links).
    compression: bool = False
    #: Seconds for the TCP + TLS + websocket handshake before the connection is dropped.
    open_timeout: float = 10.0
    #: Keepalive pings: a console that answers none within ``ping_timeout`` is disconnected.
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    #: Seconds to wait for a closing console's goodbye before dropping the TCP connection.
    close_timeout: float = 5.0
    #: Open connections the whole hub accepts; beyond that, handshakes get 503.
    max_connections: int = 2000
    #: Where published stakeholder updates are posted (``[[webhooks]]`` in the config file).
    webhooks: list[WebhookTarget] = field(default_factory=list)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    #: The alert intake (``[intake]`` in the config file); None: no intake listener.
    intake: IntakeConfig | None = None
    #: Browser status pages (``[status]`` in the config file; docs/STATUS.md).
    status: StatusConfig = field(default_factory=StatusConfig)
    #: Where the runbooks are (``[runbooks]``, docs/RUNBOOKS.md); None: no runbooks.
    runbooks: RunbooksConfig | None = None
    #: Seconds a hub on PostgreSQL stays listed in the others' ``/healthz`` after its last
    #: heartbeat (``[hub] peer_lease``; docs/POSTGRES.md).
    peer_lease: float = DEFAULT_LEASE


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HubServer:
    """A hub listening on a port: used by ``warroom serve``, the embedded hub and the tests."""

    def __init__(self, config: HubConfig, clock: Clock = utc_now) -> None:
        exposed = not is_loopback(config.host) and not config.insecure
        has_tokens = bool(config.tokens) or (exposed and registered_anyone(config.db))
        if exposed and not (has_tokens and config.certfile):
            missing = " and ".join(
                what
                for what, given in (("a token", has_tokens), ("TLS", config.certfile))
                if not given
            )
            raise HubConfigError(
                f"Refusing to listen on {config.host} without {missing}: anyone on the network "
                "could read the incident or join and write. Register people (warroom people add) "
                "or give --token, and --certfile/--keyfile; listen on 127.0.0.1, or pass "
                "--insecure if you really mean it."
            )
        self.ssl = None
        if config.certfile is not None:
            try:
                self.ssl = server_context(config.certfile, config.keyfile)
            except TLSConfigError as exc:
                raise HubConfigError(str(exc)) from exc
        self.config = config
        self.runbooks = load_runbooks(config.runbooks)  # #19: a broken file stops the hub here
        if config.durability not in DURABILITY:
            raise HubConfigError(
                f"durability must be one of {', '.join(DURABILITY)}, not {config.durability!r}"
            )
        # One hub per database file: the lock is taken before the file is opened or written.
        # A PostgreSQL database is shared: its hubs take a lock per incident as they write.
        self.db_lock: DatabaseLock | None = None
        if str(config.db) != ":memory:" and not is_postgres(config.db):
            self.db_lock = DatabaseLock(Path(config.db))
            self.db_lock.acquire()
        try:
            self.store = open_store(config.db, durability=config.durability)
            #: The team's personal tokens, in the same database (``warroom people``).
            self.people: People = open_people(config.db)
            #: #19: pipelines' gate credentials, in the same database (shared on PostgreSQL).
            self.gate = GateCredentials(config.db)
            #: Alert groups from monitoring, when the hub has an ``[intake]``.
            self.alerts: AlertStore | None = None
            if config.intake is not None:
                self.alerts = AlertStore(config.db, synchronous=DURABILITY[config.durability])
        except database_errors() as exc:
            self._release_db()
            raise describe_failure(config.db, exc) from exc
        self.hub = Hub(
            self.store,
            settings=config.settings,
            clock=clock,
            limits=config.limits,
            memory=config.memory,
        )
        self.hub.registered = self.people.names
        every = config.intake.timeline_every if config.intake is not None else 0.0
        self.hub.alert_link = AlertLink(self.alerts, every, clock, config.intake)
        self.hub.alert_link.bind(self.hub)
        self.webhooks = WebhookDispatcher(self.hub, config.webhooks, config.delivery)
        self.status = StatusPages(self.hub, config.status, self.authorised)
        self.webhooks.claims = claims_for(config.db)
        self._server: Server | None = None
        self.intake: IntakeServer | None = None
        if config.intake is not None and self.alerts is not None:
            self.intake = IntakeServer(config.intake, self.alerts, config.host, self.ssl, clock)
            self.intake.on_recorded = self.hub.alert_link.notified
        self._timers: asyncio.Task[None] | None = None
        #: Other hubs' events on a shared database, fanned out to this hub's consoles (#22).
        self.follower = follower_for(self.hub, config.db)
        #: This hub's heartbeat on a shared database, and the other live hubs (``/healthz``).
        self.peers = peers_for(config.db, config.peer_lease)
        self._orphans: asyncio.Task[None] | None = None
        self._people_watch: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.port: int = config.port

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl is not None else "ws"
        return f"{scheme}://{self.config.host}:{self.port}"

    async def start(self) -> None:
        """Read every incident, bind the port, and only then record anything and accept.

        A hub that cannot listen (the port is taken) therefore leaves the database untouched.
        """
        try:
            await self.hub.load()
        except database_errors() as exc:
            self._abandon()
            raise describe_failure(self.config.db, exc) from exc
        try:
            self._server = await self._bind()
            if self.intake is not None:
                await self.intake.start()
        except BaseException:
            if self._server is not None:
                self._server.close()
            self._abandon()
            raise
        sockets = list(self._server.sockets)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        if self.db_lock is not None:
            self.db_lock.describe(self.url)
        await self.hub.start()
        await self.peers.start(self.url)
        if self.follower is not None:
            self.follower.start()
            self._orphans = asyncio.create_task(resume_orphans(self.webhooks._resume))
        self.webhooks.start()
        self.status.start()
        await self._server.start_serving()
        if self.config.timer_interval > 0:
            self._timers = asyncio.create_task(self.hub.run_timers(self.config.timer_interval))
        self._watchdog = asyncio.create_task(self.hub.run_watchdog())
        self._people_watch = asyncio.create_task(self._watch_people(self.config.people_interval))

    def close(self) -> None:
        """Release the database and its lock for a hub that was built but never started."""
        self._abandon()

    def _abandon(self) -> None:
        """A start that failed: close the database without writing (no checkpoint), unlock it."""
        with contextlib.suppress(Exception):
            self.store.abandon()
        with contextlib.suppress(Exception):
            self.people.close()
        with contextlib.suppress(Exception):
            self.gate.close()
        with contextlib.suppress(Exception):
            if self.alerts is not None:
                self.alerts.close()
        self._release_db()

    def _release_db(self) -> None:
        if self.db_lock is not None:
            self.db_lock.release()

    async def _bind(self) -> Server:
        return await serve(
            self.status.route(self.hub.handler),  # live status pages get their own handler
            self.config.host,
            self.config.port,
            process_request=self.process_request,
            max_size=self.config.max_message,
            server_header=None,
            ssl=self.ssl,
            open_timeout=self.config.open_timeout,
            ping_interval=self.config.ping_interval,
            ping_timeout=self.config.ping_timeout,
            close_timeout=self.config.close_timeout,
            logger=redacted_logger("warroom.hub.websockets"),
            # Off by default: per-connection deflate was the hub's largest cost per event on
            # loopback and LAN (see docs/BENCHMARKS.md); ``--compression`` turns it on for slow links.
            compression="deflate" if self.config.compression else None,
            start_serving=False,
        )

    async def _watch_people(self, interval: float) -> None:
        """Cut off connections whose personal token was revoked (or replaced) since they opened."""
        while True:
            await asyncio.sleep(interval)
            try:
                # A read in WAL mode: it never waits for a writer, so it is fine on the loop.
                active = self.people.active()
            except Exception:  # a busy or broken table must not take the hub down
                log.exception("could not read the people table")
                continue
            self.hub.drop_revoked_people(active)

    async def stop(self) -> None:
        """Close every connection with 1001 (going away), finish writes, close the database."""
        if self._timers is not None:
            self._timers.cancel()
        if self._people_watch is not None:
            self._people_watch.cancel()
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._orphans is not None:
            self._orphans.cancel()
        await self.webhooks.close()
        await self.status.close()
        if self.intake is not None:
            await self.intake.close()
        await self.hub.alert_link.close()
        if self._server is not None:
            self.hub._closing = True
            self._server.close(close_connections=True)
            # A console that stopped reading cannot take its close frame: cut it off rather
            # than wait for it forever.
            try:
                await asyncio.wait_for(
                    asyncio.shield(self._server.wait_closed()), self.config.close_timeout + 1
                )
            except TimeoutError:
                for conn in list(self.hub.conns):
                    abort_if_open(conn.ws)
                await self._server.wait_closed()
        if self.follower is not None:
            await self.follower.stop()
        await self.peers.stop()
        await self.hub.stop()
        try:
            self.store.close()
            self.people.close()
            self.gate.close()
            if self.alerts is not None:
                self.alerts.close()
        finally:
            self._release_db()

    async def serve_until_signalled(self) -> None:
        """Run until SIGTERM or Ctrl-C, then stop cleanly."""
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"warroom hub listening on {self.url}  (database {self.config.db})", flush=True)
        if self.intake is not None:
            print(f"alert intake listening on {self.intake.url}/alerts/...", flush=True)
        try:
            await stop.wait()
        finally:
            print("warroom hub stopping...", flush=True)
            await self.stop()
            print("warroom hub stopped; database closed cleanly.", flush=True)

    # --- HTTP ---------------------------------------------------------------------------------
    def authorised(self, request: Request) -> Credential | None:
        """What the request was let in with (personal token, shared token, join code, open
        hub); None if refused. The people table is read on every handshake, so a revoked token
        is refused at once."""
        active = self.people.active()
        return authenticate(
            request.headers,
            self.config.tokens,
            self._incident_state,
            person=lambda presented: match_person(presented, active),
            # Revoked people count: revoking the last token must not open the hub again.
            has_people=bool(active) or bool(self.people.names()),
        )

    async def alert_groups(self, connection: ServerConnection, credential: Credential) -> Response:
        """``GET /alerts``: firing alert groups not tied to an incident (none without an intake).
        A guest sees one incident only, so never the hub's alerts. Read on a worker thread: on
        PostgreSQL the reads are round trips to the database the loop must not wait for."""
        if credential.guest:
            return json_response(
                connection,
                HTTPStatus.FORBIDDEN,
                {"error": "forbidden", "message": "A join code does not show the hub's alerts."},
            )
        intake = self.config.intake
        if self.alerts is None or intake is None:
            return json_response(connection, HTTPStatus.OK, [])
        groups = await asyncio.to_thread(
            self.alerts.open_groups, intake.severity, intake.severity_label, intake.scope
        )
        return json_response(connection, HTTPStatus.OK, groups)

    def _incident_state(self, incident_id: str) -> IncidentState | None:
        room = self.hub.live.room_now(incident_id)  # a closed incident is loaded to check
        return room.state if room is not None else None

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == "/healthz":
            health = {**self.hub.health(), **self.peers.health()}
            return json_response(connection, HTTPStatus.OK, health)
        if path == "/schema":  # documentation of the state's JSON: no secret in it
            return json_response(connection, HTTPStatus.OK, state_schema())
        if path.startswith("/status"):  # browser status pages (docs/STATUS.md)
            return self.status.process(connection, request)
        if path.startswith("/gate/"):  # #19: gate credentials only, checked there
            return gate_request(self, connection, request)  # type: ignore[return-value]
        if request.headers.get("Origin"):
            # Browsers always send Origin; warroom consoles never do. A web page must not be able
            # to drive a hub through a visitor's browser.
            return json_response(
                connection,
                HTTPStatus.FORBIDDEN,
                {"error": "forbidden", "message": "Browser origins are not allowed."},
            )
        credential = self.authorised(request)
        if credential is None:
            return json_response(
                connection,
                HTTPStatus.UNAUTHORIZED,
                {
                    "error": "unauthorized",
                    "message": "This hub needs a token ('Authorization: Bearer <token>') or a live "
                    "join code from the incident commander.",
                },
            )
        if path == "/incidents":
            include_closed = "all=1" in query.split("&")
            rows = self.hub.incident_list(include_closed)
            if credential.guest:
                rows = [r for r in rows if r["id"] == credential.incident_id]
            return json_response(connection, HTTPStatus.OK, rows)
        if path.startswith("/incidents/") and path.endswith("/state"):
            status, body = state_view(self.hub, credential, path)
            return json_response(connection, status, body)
        if path == "/alerts":
            return self.alert_groups(connection, credential)  # type: ignore[return-value]
        if path == "/runbooks":  # #19
            return runbooks_response(self, connection, credential, query)
        if path not in ("/", "/ws"):
            return json_response(
                connection,
                HTTPStatus.NOT_FOUND,
                {"error": "not_found", "message": f"No such path {path}."},
            )
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return json_response(
                connection,
                HTTPStatus.UPGRADE_REQUIRED,
                {
                    "error": "upgrade_required",
                    "message": "This is the warroom websocket endpoint; connect with a websocket "
                    "client, or GET /healthz or /incidents.",
                },
            )
        if len(self.hub.conns) >= self.config.max_connections:
            return json_response(
                connection,
                HTTPStatus.SERVICE_UNAVAILABLE,
                {
                    "error": "full",
                    "message": "This hub has too many connections; try again soon.",
                },
            )
        refusal = self.hub.credential_full(credential)
        if refusal is not None:
            return json_response(
                connection,
                HTTPStatus.TOO_MANY_REQUESTS,
                {"error": "too_many_connections", "message": refusal},
            )
        self.hub.credentials[connection] = credential
        log.info("connection from %s with %s", connection.remote_address, credential.describe())
        return None


def json_response(connection: ServerConnection, status: HTTPStatus, body: Any) -> Response:
    response = connection.respond(status, json.dumps(body, indent=None) + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response
