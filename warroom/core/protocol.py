"""The wire protocol: every message between a console and the hub, as pydantic models.

Messages are JSON text frames with an ``op`` field. See docs/PROTOCOL.md for a worked session.
Events travel as plain dicts inside ``command`` and ``event`` messages and are validated against
the event union separately, so a bad event gets an error that names the event, not the envelope.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from warroom.core.production import ProductionLock
from warroom.core.roles import JOINABLE_ROLES, Role

#: The protocol this hub and console speak. A ``hello`` must carry it: version 1 (which replayed
#: the whole log on every join) is refused with ``protocol_unsupported``.
PROTOCOL_VERSION = 2
#: A console resuming from ``since`` gets exactly the events it missed when it missed at most this
#: many (and the hub still holds them); otherwise it gets a ``snapshot``.
RESUME_LIMIT = 1000
#: Events sent after a ``snapshot`` for the timeline (already folded into the snapshot's state).
TAIL = 200
#: Most events one ``history`` page holds.
HISTORY_LIMIT = 500
#: Largest frame the hub accepts; a bigger one closes the connection with code 1009.
MAX_MESSAGE_BYTES = 64 * 1024
MAX_NAME = 60
#: Deepest nesting of arrays and objects the hub reads in a frame. No message needs more than a
#: handful of levels; a deeper frame is refused with ``bad_json`` before anything walks it.
MAX_DEPTH = 32


class _Msg(BaseModel):
    """A message to the hub: a field it does not know is refused (``bad_message``)."""

    model_config = ConfigDict(extra="forbid")


class _HubMsg(BaseModel):
    """A message from the hub. A client ignores fields it does not know (the documented policy:
    a newer hub may add fields to any message without a new protocol version)."""

    model_config = ConfigDict(extra="ignore")


# --- console to hub -------------------------------------------------------------------------
class Hello(_Msg):
    """First message on a connection: who is at this console."""

    op: Literal["hello"] = "hello"
    name: str = Field(min_length=1, max_length=MAX_NAME)
    role: Role = Role.RESPONDER
    #: The protocol version the client speaks; anything but :data:`PROTOCOL_VERSION` (or none)
    #: is refused with ``protocol_unsupported`` and the connection stays open for another hello.
    protocol: int | None = None


class Join(_Msg):
    """Follow an incident: the hub answers ``joined``, then either the events missed since
    ``since`` (a resume) or a ``snapshot`` and the last :data:`TAIL` events, then ``synced``,
    then live events."""

    op: Literal["join"] = "join"
    incident: str = Field(min_length=1, max_length=80)
    since: int = Field(default=0, ge=0)
    #: False to read without being counted as present (exports, dashboards). Such a
    #: connection is read-only: the hub refuses its commands.
    presence: bool = True


class Command(_Msg):
    """Ask the hub to record an event. ``command`` is an event without seq/at/actor/role."""

    op: Literal["command"] = "command"
    command: dict[str, Any]


class History(_Msg):
    """Ask for older timeline entries of the joined incident: the newest ``limit`` events with
    ``seq < before``, answered by one ``history_page``."""

    op: Literal["history"] = "history"
    incident: str = Field(min_length=1, max_length=80)
    before: int = Field(ge=1)
    limit: int = Field(default=HISTORY_LIMIT, ge=1, le=HISTORY_LIMIT)


class Ping(_Msg):
    """Application-level ping for hand-driven sessions; the hub answers ``pong``."""

    op: Literal["ping"] = "ping"


ClientMessage = Annotated[Union[Hello, Join, Command, History, Ping], Field(discriminator="op")]  # noqa: UP007
CLIENT_ADAPTER: TypeAdapter[Hello | Join | Command | History | Ping] = TypeAdapter(ClientMessage)
#: Every op a client may send.
CLIENT_OPS: tuple[str, ...] = ("hello", "join", "command", "history", "ping")


# --- hub to console -------------------------------------------------------------------------
class Welcome(_HubMsg):
    op: Literal["welcome"] = "welcome"
    hub: str
    protocol: int = PROTOCOL_VERSION
    name: str
    role: Role


class Joined(_HubMsg):
    """Answer to ``join``: replay follows, then ``synced``."""

    op: Literal["joined"] = "joined"
    incident: str
    head: int


class Snapshot(_HubMsg):
    """The incident's folded state as of ``seq`` (the JSON form of ``IncidentState``, schema at
    ``GET /schema``). A console takes it as its state; the events that follow with
    ``seq <= seq`` are for its timeline only (they are already folded in)."""

    op: Literal["snapshot"] = "snapshot"
    incident: str
    seq: int
    state: dict[str, Any]


class HistoryPage(_HubMsg):
    """Answer to ``history``: events with ``seq < before``, oldest first; ``complete`` when the
    page reaches the incident's first event (there is nothing older)."""

    op: Literal["history_page"] = "history_page"
    incident: str
    before: int
    events: list[dict[str, Any]]
    complete: bool


class Synced(_HubMsg):
    """Everything up to ``seq`` has been sent; what follows is live.

    ``lock`` is the production lock as of ``seq``: a client that resumed through event frames
    without ``lock`` (frames the hub rebuilt from storage after a restart cannot say) learns the
    holder and the fencing token here, without folding anything."""

    op: Literal["synced"] = "synced"
    incident: str
    seq: int
    lock: LockView | None = None


class LockView(_HubMsg):
    """The production lock as an ``event`` frame carries it: the folded lock after that event.

    ``token`` is the fencing token of the latest grant: 0 before any, +1 on every grant (on
    request, from the queue, by hand-over); it never goes down. ``expires_at`` is the current
    lease's deadline by the hub's clock (``None`` while the lock is free).
    """

    holder: str | None = None
    token: int = 0
    expires_at: datetime | None = None
    queue: list[str] = Field(default_factory=list)


class EventMsg(_HubMsg):
    """One stored event. ``lock`` is present when the event changed the production lock."""

    op: Literal["event"] = "event"
    event: dict[str, Any]
    lock: LockView | None = None


class Ack(_HubMsg):
    """The command ``id`` is stored as ``seq``. ``duplicate`` when it had been stored before."""

    op: Literal["ack"] = "ack"
    id: UUID
    incident: str
    seq: int
    duplicate: bool = False


class Error(_HubMsg):
    """A refused message. Nothing was written.

    ``id`` is the id of the refused command, as the frame carried it (a string the hub could not
    read as a UUID is echoed as it was sent), or ``None`` when the frame had none.
    """

    op: Literal["error"] = "error"
    code: str
    message: str
    id: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, UUID) else value

    @property
    def command_id(self) -> UUID | None:
        """``id`` as a command id, or ``None`` if there is none or it is not a UUID."""
        if self.id is None:
            return None
        try:
            return UUID(self.id)
        except ValueError:
            return None


class Pong(_HubMsg):
    op: Literal["pong"] = "pong"
    at: datetime


HubMessage = Annotated[
    Union[Welcome, Joined, Snapshot, Synced, EventMsg, HistoryPage, Ack, Error, Pong],  # noqa: UP007
    Field(discriminator="op"),
]
HUB_ADAPTER: TypeAdapter[
    Welcome | Joined | Snapshot | Synced | EventMsg | HistoryPage | Ack | Error | Pong
] = TypeAdapter(HubMessage)


def lock_view(lock: ProductionLock) -> LockView:
    """What an ``event`` frame says of ``lock`` (the state's lock has the same fields)."""
    return LockView(
        holder=lock.holder, token=lock.token, expires_at=lock.expires_at, queue=list(lock.queue)
    )


def lock_change(before: ProductionLock | None, after: ProductionLock) -> LockView | None:
    """The ``lock`` an event frame carries: the lock after the event if the event changed its
    holder, token, lease expiry or queue (grant, hand-on from the queue, renewal, release,
    expiry, force release, hand-over, a request that queues, a withdrawal), else ``None``."""
    view = lock_view(after)
    if before is not None and lock_view(before) == view:
        return None
    if before is None and view == LockView():
        return None
    return view


class ProtocolError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def load_json(raw: str | bytes) -> Any:
    """The JSON value of a frame, or :class:`ProtocolError` ``bad_json`` (also when it nests
    deeper than :data:`MAX_DEPTH`, which no message needs)."""
    import json

    if _too_deep(raw):
        raise ProtocolError(
            "bad_json", f"JSON nested too deep: more than {MAX_DEPTH} levels of [ and {{."
        )
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("bad_json", f"Not valid JSON: {exc}") from exc
    except RecursionError as exc:  # unbalanced brackets thousands deep
        raise ProtocolError("bad_json", "JSON nested too deep.") from exc


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _too_deep(raw: str | bytes) -> bool:
    """True if ``raw`` nests ``[``/``{`` deeper than MAX_DEPTH outside strings.

    Done with C-speed string operations (drop strings, keep brackets, peel innermost pairs), so
    a hostile 64 KB frame costs the hub no more than an honest one.
    """
    if isinstance(raw, bytes):
        if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
            return False
        raw = raw.decode("utf-8", errors="replace")
    elif raw.count("[") + raw.count("{") <= MAX_DEPTH:
        return False
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", raw))
    for _ in range(MAX_DEPTH):
        shorter = brackets.replace("[]", "").replace("{}", "")
        if not shorter or shorter == brackets:
            return False  # balanced within the limit, or malformed (json.loads says so)
        brackets = shorter
    return True


def unsupported_protocol(spoken: object) -> ProtocolError:
    """The refusal of a ``hello`` in another protocol version, naming the fix."""
    said = "1" if spoken is None else str(spoken)[:20]
    return ProtocolError(
        "protocol_unsupported",
        f"This hub speaks warroom protocol {PROTOCOL_VERSION}; this client speaks {said}. "
        "Upgrade it (pip install -U warroom) or see docs/PROTOCOL.md.",
    )


def parse_client_message(raw: str | bytes) -> Hello | Join | Command | History | Ping:
    """Parse one frame from a console, or raise :class:`ProtocolError` with a clear message."""
    data = load_json(raw)
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "A message must be a JSON object with an 'op' field.")
    op = data.get("op")
    if not isinstance(op, str):
        raise ProtocolError(
            "bad_message", "A message needs an 'op' string: hello, join, command, history or ping."
        )
    if op not in CLIENT_OPS:
        raise ProtocolError(
            "unknown_op",
            f"Unknown op {op!r}; expected one of {', '.join(CLIENT_OPS)}.",
        )
    if op == "hello":
        # Checked before the fields: a client of another version may well send other fields.
        spoken = data.get("protocol")
        if type(spoken) is not int or spoken != PROTOCOL_VERSION:
            raise unsupported_protocol(spoken)
    try:
        return CLIENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or op
        raise ProtocolError("bad_message", f"Bad '{op}' message: {where}: {first['msg']}") from exc


__all__ = [
    "JOINABLE_ROLES",
    "Ack",
    "LockView",
    "Command",
    "Error",
    "EventMsg",
    "Hello",
    "History",
    "HistoryPage",
    "Join",
    "Joined",
    "Ping",
    "Pong",
    "ProtocolError",
    "Snapshot",
    "Synced",
    "Welcome",
    "lock_change",
    "lock_view",
    "parse_client_message",
]
