"""The deploy gate's endpoint: ``GET /gate/check`` (docs/GATE.md).

A pipeline asks before it changes production, with its gate credential in ``Authorization:
Bearer``. It is a GET with the request in the query string because the hub's port speaks only
handshake requests (the websockets server refuses any request with a body before the hub sees
it); the CLI, ``warroom gate check``, builds it.

Everything is checked before anything is recorded: the credential (401; 403 for a person's token
or the hub's shared token), the parameters (400: unknown or repeated ones, a target name that is
not one, a token that is not a number), the incident when one is named (404). Then the check is
decided by the core (:func:`warroom.core.gate.gate_check`) against each incident's state at the
moment it is written, and recorded there; the answer says allowed or refused, and why.
"""

from __future__ import annotations

import hmac
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from warroom.hub.credentials import bearer
from warroom.hub.people import match_person

from warroom.core.actions import ActionStarted
from warroom.core.admission import Admission
from warroom.core.events import Actor
from warroom.core.gate import gate_check
from warroom.core.gate_state import valid_target
from warroom.core.lock import fence
from warroom.core.names import valid_incident_id
from warroom.core.phases import Phase
from warroom.core.production import ActionKind
from warroom.core.protocol import Error
from warroom.core.roles import HUB_ACTOR, Role
from warroom.core.state import IncidentState

if TYPE_CHECKING:
    from warroom.hub.app import HubServer
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

log = logging.getLogger("warroom.hub.gate")

PARAMS = frozenset({"target", "token", "incident", "started", "kind", "expect", "metric", "before"})
MAX_TEXT = 500


class BadRequest(ValueError):
    def __init__(self, status: HTTPStatus, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


async def gate_request(
    server: HubServer, connection: ServerConnection, request: Request
) -> Response:
    """Answer one ``/gate/...`` request (the hub's ``process_request`` hands it over)."""
    from warroom.hub.app import json_response

    try:
        answer = await _check(server, request)
    except BadRequest as exc:
        return json_response(connection, exc.status, {"error": exc.error, "message": exc.message})
    return json_response(connection, HTTPStatus.OK, answer)


def _credential(server: HubServer, request: Request) -> str:
    if request.headers.get("Origin"):
        raise BadRequest(HTTPStatus.FORBIDDEN, "forbidden", "Browser origins are not allowed.")
    presented = bearer(request.headers)
    try:
        name = server.gate.match(presented) if presented else None
    except Exception as exc:  # the database is unreachable (a PostgreSQL failover, a full disk)
        log.warning("gate credentials cannot be read: %s", exc)
        raise BadRequest(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "unavailable",
            "The hub cannot read its gate credentials right now; try again.",
        ) from None
    if name is not None:
        return name
    if presented and (
        match_person(presented, server.people.active())
        or any(hmac.compare_digest(presented, t) for t in server.config.tokens.values())
    ):
        raise BadRequest(
            HTTPStatus.FORBIDDEN,
            "forbidden",
            "That is a person's token (or the hub's shared token), not a gate credential: make "
            "one for the pipeline with `warroom gate add NAME` on the hub's host.",
        )
    raise BadRequest(
        HTTPStatus.UNAUTHORIZED,
        "unauthorized",
        "The gate needs a live gate credential ('Authorization: Bearer wrg_...').",
    )


def _params(query: str) -> dict[str, str]:
    pairs = parse_qsl(query, keep_blank_values=True)
    params: dict[str, str] = {}
    for key, value in pairs:
        if key not in PARAMS:
            raise BadRequest(
                HTTPStatus.BAD_REQUEST, "bad_request", f"Unknown parameter {key!r}; known: "
                f"{', '.join(sorted(PARAMS))}.",
            )  # fmt: skip
        if key in params:
            raise BadRequest(HTTPStatus.BAD_REQUEST, "bad_request", f"{key} is given twice.")
        if len(value) > MAX_TEXT:
            raise BadRequest(HTTPStatus.BAD_REQUEST, "bad_request", f"{key} is too long.")
        params[key] = value
    return params


def _request(server: HubServer, request: Request) -> tuple[str, dict[str, Any]]:
    """The credential's name and the check asked for; :class:`BadRequest` when it is not one."""
    path, _, query = request.path.partition("?")
    if path != "/gate/check":
        raise BadRequest(HTTPStatus.NOT_FOUND, "not_found", f"No such path {path}.")
    name = _credential(server, request)
    params = _params(query)
    target = params.get("target", "")
    if not valid_target(target):
        raise BadRequest(
            HTTPStatus.BAD_REQUEST,
            "bad_target",
            f"{target!r} is not a target name: lower-case letters, digits and . _ / -, "
            "starting with a letter or digit, up to 80 (checkout-api, prod/eu-west-1).",
        )
    token = params.get("token")
    if token is not None and not (token.isascii() and token.isdigit() and 0 < int(token) < 2**53):
        raise BadRequest(HTTPStatus.BAD_REQUEST, "bad_request", f"token {token!r} is not a number.")
    started = params.get("started", "0")
    if started not in ("0", "1"):
        raise BadRequest(HTTPStatus.BAD_REQUEST, "bad_request", "started is 1 or 0.")
    kind = params.get("kind", ActionKind.OTHER.value)
    if kind not in {k.value for k in ActionKind}:
        known = ", ".join(k.value for k in ActionKind)
        raise BadRequest(HTTPStatus.BAD_REQUEST, "bad_request", f"kind is one of {known}.")
    incident = params.get("incident")
    if incident is not None and (
        not valid_incident_id(incident) or server._incident_state(incident) is None
    ):
        raise BadRequest(
            HTTPStatus.NOT_FOUND, "unknown_incident", f"No incident {incident!r} on this hub."
        )
    check = {
        "target": target,
        "token": int(token) if token is not None else None,
        "started": started == "1",
        "incident": incident,
        "kind": ActionKind(kind),
        "expect": params.get("expect", "").strip() or f"change made by the {name} pipeline",
        "metric": params.get("metric", "").strip() or "not named by the pipeline",
        "before": params.get("before", "").strip() or "not measured by the pipeline",
    }
    return name, check


def _in_progress(server: HubServer) -> list[str]:
    """The incidents a check without ``incident`` applies to: every one not resolved yet, but
    no drill (a drill must never hold up a real deploy)."""
    found = [
        incident_id
        for incident_id, room in server.hub.rooms.items()
        if room.state.declared
        and not room.state.drill
        and room.state.phase.index < Phase.RESOLVED.index
    ]
    if server.store.shared:  # #22: one declared at another hub a moment ago is not loaded yet
        for row in server.store.reader.incident_rows(include_closed=False):
            if row["id"] in server.hub.rooms or row["id"] in server.hub.set_aside or row["drill"]:
                continue
            if Phase(row["phase"]).index < Phase.RESOLVED.index:
                found.append(row["id"])
    return found


async def _check(server: HubServer, request: Request) -> dict[str, Any]:
    name, check = _request(server, request)
    incidents = [check["incident"]] if check["incident"] else _in_progress(server)
    clock = server.hub.clock
    results = []
    for incident_id in incidents:
        decided = await server.hub.record_decided(
            incident_id,
            lambda state: gate_check(
                state, name, check["target"], check["token"], check["started"], clock()
            ),
            Actor(name=HUB_ACTOR, seat=Role.HUB),
        )
        if isinstance(decided, Error):
            results.append(_row(incident_id, False, decided.code, decided.message))
            continue
        refusal = decided.notice
        row = _row(
            incident_id,
            refusal is None,
            refusal.code if refusal else decided.events[0].reason,  # type: ignore[attr-defined]
            refusal.message if refusal else decided.events[0].message,  # type: ignore[attr-defined]
        )
        if refusal is None and check["started"] and check["token"] is not None:
            row["action"] = await _record_action(server, incident_id, name, check)
        results.append(row)
    refused = next((r for r in results if not r["allowed"]), None)
    if refused is not None:
        return {**_summary(refused), "incidents": results}
    if not results:
        message = "Allowed: no incident is in progress on this hub."
        return {"allowed": True, "reason": "no_incident", "message": message, "incidents": []}
    return {**_summary(results[0]), "incidents": results}


def _row(incident_id: str, allowed: bool, reason: str, message: str) -> dict[str, Any]:
    return {"incident": incident_id, "allowed": allowed, "reason": reason, "message": message}


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("allowed", "reason", "message")}


async def _record_action(
    server: HubServer, incident_id: str, name: str, check: dict[str, Any]
) -> str | None:
    """Record the change as a production action of the holder of the lease whose token the
    pipeline presented (if it is still live when written); its id, or None."""
    state = server._incident_state(incident_id)
    holder = state.lock.holder if state is not None else None
    if holder is None:
        return None

    def decide(state: IncidentState) -> Admission:
        if fence(state, holder, check["token"], server.hub.clock()) is not None:
            return Admission(())
        return Admission(
            (
                ActionStarted(
                    token=check["token"],
                    kind=check["kind"],
                    target=check["target"],
                    expected=check["expect"],
                    metric=check["metric"],
                    value_before=check["before"],
                ),
            )
        )

    decided = await server.hub.record_decided(incident_id, decide, Actor(name=holder))
    if isinstance(decided, Error) or not decided.events:
        return None
    return str(decided.events[0].id)
