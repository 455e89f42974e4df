"""Status pages in the browser: ``GET /status``, ``GET /status/<incident>``, and their live feed.

Stakeholders do not run terminals. The hub serves each incident's page from the same record the
room works in, filtered for an audience (:mod:`warroom.core.status_page_view`), on its own port:

* ``GET /status/<incident>?key=<page link>``: the page (HTML). ``Authorization: Bearer`` with a
  hub or personal token reads the internal page; with ``[status] open_external`` anyone reads the
  external page of a real (not drill) incident without a key.
* ``GET /status/<incident>/live?key=...`` upgraded to a websocket: the page's script receives the
  page's content again each time what it shows changes (a publish, a severity or phase change).
  A revoked link's connections are closed at once with code 4403.
* ``GET /status``: the incidents a credential may see (HTML, or JSON for ``Accept:
  application/json``).
* ``/status.js`` and ``/status.css``: the page's script and style (no secret in them).

Refusals never tell an outsider whether an incident exists: a missing, wrong or revoked key gets
the same answer for every incident id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from warroom.hub.credentials import Credential, CredentialKind
from warroom.hub.hubstate import UnreadableIncident
from warroom.hub.status_config import StatusConfig
from warroom.hub.status_html import (
    SCRIPT,
    STYLE,
    Listed,
    PageFrame,
    listing_document,
    main_html,
    page_href,
    page_title,
    refusal_document,
    status_document,
)
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from warroom.core.comms_state import Audience
from warroom.core.events import EventBase
from warroom.core.names import valid_incident_id
from warroom.core.phases import Phase
from warroom.core.state import IncidentState
from warroom.core.status_page import PageLinkRevoked
from warroom.core.status_page_state import parse_key, verify_page_link
from warroom.core.status_page_view import PHASE_WORDS, status_view

if TYPE_CHECKING:
    from warroom.hub.hub import Hub

log = logging.getLogger("warroom.status")

#: Seconds between looks at open pages for changes that only time makes.
CLOCK_CHECK = 15.0
#: Close code a page's script reads as "your link no longer works; stop reconnecting".
CLOSE_REVOKED = 4403

#: Headers on every status response: no caching of a page that carries a key, no referrer that
#: would hand the key to another site, no script or style but the hub's own files.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}

NO_LINK = (
    "This status page needs a link from the incident team (the address ends in ?key=...). "
    "Ask whoever sent you here for one."
)
BAD_LINK = (
    "This link does not open this page: it may have been revoked, or it is for another "
    "incident. Ask the incident team for a new one."
)

Authorise = Callable[[Request], Credential | None]


@dataclass(frozen=True)
class Reader:
    """Who is reading: the audience they may see and the page link they came with, if any."""

    incident_id: str
    audience: Audience
    link_id: str = ""


@dataclass
class Viewer:
    """One open live connection of a page."""

    reader: Reader
    sent: str = ""


class StatusPages:
    """The hub's status pages: answering requests, and keeping open pages up to date."""

    def __init__(self, hub: Hub, config: StatusConfig, authorise: Authorise) -> None:
        self.hub = hub
        self.config = config
        self.authorise = authorise
        #: Handshakes accepted for a live feed, until the connection handler takes them (weakly:
        #: a handshake that fails after the request was answered never reaches the handler).
        self._accepted: weakref.WeakKeyDictionary[ServerConnection, Reader] = (
            weakref.WeakKeyDictionary()
        )
        self.viewers: dict[ServerConnection, Viewer] = {}
        self._dirty: set[str] = set()
        self._flush: asyncio.Handle | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._clock_task: asyncio.Task[None] | None = None

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.hub.after_store.append(self.on_stored)
        self._clock_task = asyncio.get_running_loop().create_task(self._follow_the_clock())

    async def close(self) -> None:
        if self.on_stored in self.hub.after_store:
            self.hub.after_store.remove(self.on_stored)
        if self._flush is not None:
            self._flush.cancel()
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task

    async def _follow_the_clock(self) -> None:
        """Look at open pages again now and then: a promised update time passes without an
        event ("it is late" appears), and nothing else would say so."""
        while True:
            await asyncio.sleep(CLOCK_CHECK)
            self._dirty.update(v.reader.incident_id for v in self.viewers.values())
            self._push()

    def route(
        self, handler: Callable[[ServerConnection], Awaitable[None]]
    ) -> Callable[[ServerConnection], Awaitable[None]]:
        """The websocket handler: live page feeds here, everything else to ``handler``."""

        async def routed(ws: ServerConnection) -> None:
            reader = self._accepted.pop(ws, None)
            if reader is None:
                await handler(ws)
            else:
                await self._serve_viewer(ws, reader)

        return routed

    # --- HTTP ---------------------------------------------------------------------------------
    def process(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer a request whose path starts with ``/status``; None accepts a live feed."""
        path, _, query = request.path.partition("?")
        if path == "/status.js":
            return _asset(SCRIPT, "text/javascript")
        if path == "/status.css":
            return _asset(STYLE, "text/css")
        key = (parse_qs(query).get("key") or [""])[0]
        if path in ("/status", "/status/"):
            return self._listing(request, key)
        if not path.startswith("/status/"):
            return _html(HTTPStatus.NOT_FOUND, refusal_document("Not found", "No such page."))
        raw_id, _, tail = path.removeprefix("/status/").partition("/")
        incident_id = unquote(raw_id)
        if tail not in ("", "live"):
            return _html(HTTPStatus.NOT_FOUND, refusal_document("Not found", "No such page."))
        reader_or_refusal = self._reader(request, incident_id, key)
        if isinstance(reader_or_refusal, Response):
            return reader_or_refusal
        reader, state = reader_or_refusal
        if tail == "live":
            return self._accept_live(connection, request, reader)
        frame = PageFrame(
            live_path=f"/status/{incident_id}/live", refresh=max(5, self.config.refresh)
        )
        return _html(
            HTTPStatus.OK, status_document(status_view(state, reader.audience, self._now()), frame)
        )

    def _now(self) -> Any:
        return self.hub.clock()

    def _state(self, incident_id: str) -> IncidentState | None:
        if not valid_incident_id(incident_id):
            return None
        try:  # a closed incident is not kept in memory: read it in as a join would
            room = self.hub.live.room_now(incident_id)
        except UnreadableIncident:
            return None
        if room is None or not room.state.declared:
            return None
        return room.state

    def _reader(
        self, request: Request, incident_id: str, key: str
    ) -> tuple[Reader, IncidentState] | Response:
        """Who may read ``incident_id`` and as which audience, or the refusal to send."""
        if key:
            # A malformed key is refused before the incident is even looked up.
            state = self._state(incident_id) if parse_key(key) is not None else None
            link = verify_page_link(state.page_links, key) if state is not None else None
            if link is None or state is None:
                return _html(HTTPStatus.FORBIDDEN, refusal_document("Link not valid", BAD_LINK))
            return Reader(incident_id, link.audience, link.link_id), state
        credential = self._bearer(request)
        if credential is not None:
            state = self._state(incident_id)
            if state is None:
                return _html(
                    HTTPStatus.NOT_FOUND,
                    refusal_document("Not found", f"No incident {incident_id!r} on this hub."),
                )
            return Reader(incident_id, Audience.INTERNAL), state
        if self.config.open_external:
            state = self._state(incident_id)
            if state is not None and not state.drill:
                return Reader(incident_id, Audience.EXTERNAL), state
            return _html(HTTPStatus.NOT_FOUND, refusal_document("Not found", "No such page."))
        return _html(HTTPStatus.UNAUTHORIZED, refusal_document("A link is needed", NO_LINK))

    def _bearer(self, request: Request) -> Credential | None:
        """A hub token or a personal token (an open hub's anonymous access does not count)."""
        if "Authorization" not in request.headers:
            return None
        credential = self.authorise(request)
        if credential is None or credential.kind not in (
            CredentialKind.PERSON,
            CredentialKind.TOKEN,
        ):
            return None
        return credential

    def _listing(self, request: Request, key: str) -> Response:
        """``GET /status``: what this credential may open."""
        rows: list[Listed] = []
        if key:
            parsed = parse_key(key)
            for room in list(self.hub.rooms.values()) if parsed is not None else []:
                link = verify_page_link(room.state.page_links, key)
                if link is not None:
                    rows.append(_listed(room.state, page_href(room.incident_id, key)))
            if not rows:
                return _html(HTTPStatus.FORBIDDEN, refusal_document("Link not valid", BAD_LINK))
        elif self._bearer(request) is not None or self.config.open_external:
            internal = self._bearer(request) is not None
            for room in list(self.hub.rooms.values()):
                state = room.state
                if not state.declared or state.phase == Phase.CLOSED:
                    continue
                if internal or not state.drill:
                    rows.append(_listed(state, page_href(state.incident_id, "")))
        else:
            return _html(HTTPStatus.UNAUTHORIZED, refusal_document("A link is needed", NO_LINK))
        rows.sort(key=lambda r: r.incident_id)
        if "application/json" in request.headers.get("Accept", ""):
            body = [
                {"id": r.incident_id, "title": r.title, "severity": r.severity, "phase": r.phase}
                for r in rows
            ]
            return _respond(HTTPStatus.OK, json.dumps(body) + "\n", "application/json")
        return _html(HTTPStatus.OK, listing_document(rows))

    def _accept_live(
        self, connection: ServerConnection, request: Request, reader: Reader
    ) -> Response | None:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return _html(
                HTTPStatus.UPGRADE_REQUIRED,
                refusal_document("Websocket only", "This address is the page's live feed."),
            )
        origin = request.headers.get("Origin")
        host = request.headers.get("Host", "")
        if origin is not None and origin.split("://", 1)[-1] != host:
            # A page on another site may not follow an incident through a visitor's browser.
            return _html(
                HTTPStatus.FORBIDDEN, refusal_document("Forbidden", "Foreign origins not allowed.")
            )
        if len(self.viewers) + len(self._accepted) >= self.config.max_viewers:
            return _html(
                HTTPStatus.SERVICE_UNAVAILABLE,
                refusal_document("Busy", "Too many live pages; this one reloads instead."),
            )
        self._accepted[connection] = reader
        return None

    # --- live ---------------------------------------------------------------------------------
    async def _serve_viewer(self, ws: ServerConnection, reader: Reader) -> None:
        viewer = Viewer(reader)
        self.viewers[ws] = viewer
        try:
            self._send(ws, viewer)
            async for _ in ws:  # a page has nothing to say; whatever it sends is ignored
                pass
        except ConnectionClosed:
            pass
        finally:
            self.viewers.pop(ws, None)

    def on_stored(self, event: EventBase) -> None:
        """After every stored event: cut off a revoked link, refresh the incident's pages."""
        if isinstance(event, PageLinkRevoked):
            for ws, viewer in list(self.viewers.items()):
                reader = viewer.reader
                if reader.incident_id == event.incident_id and reader.link_id == event.link_id:
                    self.viewers.pop(ws, None)
                    task = asyncio.get_running_loop().create_task(
                        ws.close(CLOSE_REVOKED, "page link revoked")
                    )
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
        if any(v.reader.incident_id == event.incident_id for v in self.viewers.values()):
            self._dirty.add(event.incident_id)
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_soon(self._push)

    def _push(self) -> None:
        """Send each open page of the incidents that changed, if what it shows changed."""
        self._flush = None
        dirty, self._dirty = self._dirty, set()
        for ws, viewer in list(self.viewers.items()):
            if viewer.reader.incident_id in dirty:
                self._send(ws, viewer)

    def _send(self, ws: ServerConnection, viewer: Viewer) -> None:
        room = self.hub.rooms.get(viewer.reader.incident_id)
        if room is None:
            return
        view = status_view(room.state, viewer.reader.audience, self._now())
        html = main_html(view)
        if html == viewer.sent:
            return  # nothing this audience sees changed (a note, a guess...): say nothing
        viewer.sent = html
        message = json.dumps({"type": "page", "title": page_title(view), "html": html})
        task = asyncio.get_running_loop().create_task(ws.send(message))
        task.add_done_callback(_quiet)


def _quiet(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, Exception):
        task.result()


def _listed(state: IncidentState, href: str) -> Listed:
    headline = PHASE_WORDS[state.phase][0]
    return Listed(state.incident_id, state.title, state.severity.value, headline, href)


def _respond(status: HTTPStatus, body: str, content_type: str) -> Response:
    headers = Headers(SECURITY_HEADERS)
    headers["Content-Type"] = content_type
    data = body.encode()
    headers["Content-Length"] = str(len(data))
    return Response(status.value, status.phrase, headers, data)


def _html(status: HTTPStatus, body: str) -> Response:
    return _respond(status, body, "text/html; charset=utf-8")


def _asset(body: str, content_type: str) -> Response:
    response = _respond(HTTPStatus.OK, body, f"{content_type}; charset=utf-8")
    del response.headers["Cache-Control"]
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
